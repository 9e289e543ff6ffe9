"""A run's notes: front-end facts (JSON values under string keys) kept with the run (`batch_runs.extra`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync_engine.domain import RunStatus
from sync_engine.errors import RunNotFoundError
from sync_engine.store.models import BatchRunRow

__all__ = ["finished_runs_lacking_note", "save_notes"]


def save_notes(session: Session, run_id: int, values: dict[str, Any], *, only_new: bool = False) -> bool:
    """Merge `values` into the run's notes; with `only_new`, only if none of the keys is there yet.

    The run row is locked for the read-modify-write, so of two callers claiming the same key one wins.
    """
    run = session.get(BatchRunRow, run_id, with_for_update=True)
    if run is None:
        raise RunNotFoundError(f"There is no batch run {run_id}.")
    notes = dict(run.extra or {})
    if only_new and any(key in notes for key in values):
        return False
    run.extra = {**notes, **values}
    return True


def finished_runs_lacking_note(
    session: Session, note: str, *, finished_after: datetime, finished_before: datetime, limit: int
) -> list[tuple[int, datetime]]:
    """(id, finished_at) of Completed or Error runs with a Slack channel, finished within the bounds and
    without the note `note`, oldest first, at most `limit`: one query."""
    finished = list(
        session.execute(
            select(BatchRunRow.id, BatchRunRow.finished_at)
            .where(
                BatchRunRow.status.in_([RunStatus.COMPLETED.value, RunStatus.ERROR.value]),
                BatchRunRow.finished_at > finished_after,
                BatchRunRow.finished_at <= finished_before,
                BatchRunRow.slack_channel.is_not(None),
                BatchRunRow.extra[note].as_string().is_(None),
            )
            .order_by(BatchRunRow.finished_at)
            .limit(limit)
        )
    )
    return [(run_id, at) for run_id, at in finished if at is not None]
