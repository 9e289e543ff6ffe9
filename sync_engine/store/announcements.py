"""A run's announcement in the store: what a front end's message about the run (the Slack status
message) has shown, and its once-only steps (`run_announcements`, `run_announcement_steps`).

A step is claimed by inserting its row, or by taking over a row whose owner never finished it (the
conditional update names the owner it replaces), so of two callers one wins, across processes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Update, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync_engine.domain import FINAL_STATUSES, AnnouncementStep, RunAnnouncement, RunStatus
from sync_engine.store.conditional_update import updated
from sync_engine.store.models import BatchRunRow, RunAnnouncementRow, RunAnnouncementStepRow

__all__ = [
    "claim_step",
    "finish_step",
    "finished_runs_not_shown",
    "load_announcements",
    "mark_final_shown",
    "save_links",
]


def load_announcements(session: Session, run_ids: Collection[int]) -> dict[int, RunAnnouncement]:
    """Each run's announcement as far as it got (empty before a front end recorded anything), in two
    queries however many runs: a page of history must not cost a round trip per run."""
    steps: dict[int, dict[str, AnnouncementStep]] = {run_id: {} for run_id in run_ids}
    for step in session.scalars(
        select(RunAnnouncementStepRow).where(RunAnnouncementStepRow.run_id.in_(run_ids))
    ):
        steps[step.run_id][step.step] = AnnouncementStep(
            attempt=step.attempt, owner=step.owner, claimed_at=step.claimed_at, done_at=step.done_at
        )
    rows = session.scalars(select(RunAnnouncementRow).where(RunAnnouncementRow.run_id.in_(run_ids)))
    announcements = {run_id: RunAnnouncement(steps=steps[run_id]) for run_id in run_ids}
    for row in rows:
        announcements[row.run_id] = RunAnnouncement(
            link=row.link,
            records_link=row.records_link,
            results_link=row.results_link,
            final_digest=row.final_digest,
            final_shown_at=row.final_shown_at,
            steps=steps[row.run_id],
        )
    return announcements


def claim_step(session: Session, run_id: int, step: str, owner: str, now: datetime) -> bool:
    """True for the one caller that may do `step` now: the first, or one taking over a claim its owner
    left undone. False once the step is done, or when another caller claimed it first."""
    if _insert_new(
        session, RunAnnouncementStepRow, run_id=run_id, step=step, attempt=1, owner=owner, claimed_at=now
    ):
        return True
    claimed = session.get(RunAnnouncementStepRow, (run_id, step), populate_existing=True)
    if claimed is None or claimed.done_at is not None:
        return False
    return updated(
        session,
        _held_by(run_id, step, claimed.owner)
        .where(
            RunAnnouncementStepRow.attempt == claimed.attempt,
            RunAnnouncementStepRow.done_at.is_(None),
        )
        .values(owner=owner, attempt=claimed.attempt + 1, claimed_at=now),
    )


def finish_step(session: Session, run_id: int, step: str, owner: str, now: datetime) -> bool:
    """Mark the step done if `owner` still holds its claim; False if someone took it over meanwhile."""
    return updated(session, _held_by(run_id, step, owner).values(done_at=now))


def _held_by(run_id: int, step: str, owner: str) -> Update:
    """An UPDATE of the run's step while `owner` holds its claim."""
    return update(RunAnnouncementStepRow).where(
        RunAnnouncementStepRow.run_id == run_id,
        RunAnnouncementStepRow.step == step,
        RunAnnouncementStepRow.owner == owner,
    )


def save_links(
    session: Session,
    run_id: int,
    *,
    link: str | None = None,
    records_link: str | None = None,
    results_link: str | None = None,
) -> None:
    """Remember where admins open the announcement, the records file and the results file (a None leaves
    a link as is)."""
    links = (("link", link), ("records_link", records_link), ("results_link", results_link))
    values = {name: value for name, value in links if value is not None}
    if values:
        _ensure_row(session, run_id)
        session.execute(
            update(RunAnnouncementRow).where(RunAnnouncementRow.run_id == run_id).values(**values)
        )


def mark_final_shown(session: Session, run_id: int, digest: str, now: datetime) -> bool:
    """Record that the announcement shows the run's final state (`digest`); only the first call counts."""
    _ensure_row(session, run_id)
    return updated(
        session,
        update(RunAnnouncementRow)
        .where(RunAnnouncementRow.run_id == run_id, RunAnnouncementRow.final_digest.is_(None))
        .values(final_digest=digest, final_shown_at=now),
    )


def finished_runs_not_shown(
    session: Session, *, finished_after: datetime, finished_before: datetime, limit: int
) -> list[tuple[int, datetime]]:
    """(id, finished_at) of runs that ended (Completed, Error, Stopped, Rejected…; not cancelled drafts)
    announced in a channel, finished within the bounds, whose announcement does not show the final state
    yet, oldest first, at most `limit`: one query."""
    finished = session.execute(
        select(BatchRunRow.id, BatchRunRow.finished_at)
        .outerjoin(RunAnnouncementRow, RunAnnouncementRow.run_id == BatchRunRow.id)
        .where(
            BatchRunRow.status.in_(sorted(s.value for s in FINAL_STATUSES if s is not RunStatus.CANCELLED)),
            BatchRunRow.finished_at > finished_after,
            BatchRunRow.finished_at <= finished_before,
            BatchRunRow.slack_channel.is_not(None),
            RunAnnouncementRow.final_digest.is_(None),
        )
        .order_by(BatchRunRow.finished_at)
        .limit(limit)
    )
    return [(run_id, at) for run_id, at in finished if at is not None]


def _ensure_row(session: Session, run_id: int) -> None:
    _insert_new(session, RunAnnouncementRow, run_id=run_id)


def _insert_new(
    session: Session, table: type[RunAnnouncementRow | RunAnnouncementStepRow], **values: object
) -> bool:
    """INSERT … ON CONFLICT (primary key) DO NOTHING; True if it stored the row."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(table.run_id)
    return session.execute(statement).first() is not None
