"""`RunService.finished_lacking_note`: the one query of the final-status sweep (`bot.final_sweep`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync_engine import jobs
from sync_engine.domain import RunStatus
from sync_engine.progress import RunEvents
from sync_engine.service import RunService
from sync_engine.store.database import Database
from sync_engine.store.models import BatchRunRow

NOW = datetime(2025, 11, 27, 9, 30, tzinfo=UTC)


def _run(
    database: Database,
    status: RunStatus,
    finished_seconds_ago: float | None,
    *,
    channel: str | None = "C_FIN",
    notes: dict[str, object] | None = None,
) -> int:
    finished = NOW - timedelta(seconds=finished_seconds_ago) if finished_seconds_ago is not None else None
    with database.session() as session:
        row = BatchRunRow(
            status=status.value,
            identifier_type="reference",
            requested_by="U1",
            created_at=NOW - timedelta(hours=1),
            updated_at=NOW,
            finished_at=finished,
            slack_channel=channel,
            extra=notes or {},
        )
        session.add(row)
        session.flush()
        return row.id


def test_finished_runs_lacking_a_note_are_found_within_the_span_oldest_first(database: Database) -> None:
    service = RunService(database, jobs.DramatiqDispatcher(), RunEvents())
    recent_error = _run(database, RunStatus.ERROR, 5)
    recent_completed = _run(database, RunStatus.COMPLETED, 30)
    _run(database, RunStatus.COMPLETED, 20, notes={"final_shown": "digest", "permalink": "x"})
    _run(database, RunStatus.COMPLETED, 1)  # too recent: its own final update is still due
    _run(database, RunStatus.COMPLETED, 3600)  # too old
    _run(database, RunStatus.COMPLETED, 10, channel=None)  # from the CLI: no Slack message
    _run(database, RunStatus.CANCELLED, 10)  # a dropped draft: no status message
    _run(database, RunStatus.IN_PROGRESS, None)
    with_other_notes = _run(database, RunStatus.COMPLETED, 40, notes={"permalink": "x", "final": None})

    found = service.finished_lacking_note(
        "final_shown",
        finished_after=NOW - timedelta(minutes=10),
        finished_before=NOW - timedelta(seconds=2),
        limit=10,
    )
    assert [run_id for run_id, _ in found] == [with_other_notes, recent_completed, recent_error]
    assert found[-1][1] == NOW - timedelta(seconds=5)

    limited = service.finished_lacking_note(
        "final_shown",
        finished_after=NOW - timedelta(minutes=10),
        finished_before=NOW - timedelta(seconds=2),
        limit=2,
    )
    assert [run_id for run_id, _ in limited] == [with_other_notes, recent_completed]
