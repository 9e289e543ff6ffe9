"""An admin's stop of a run, in the store: every customer not yet being written is skipped, the run ends
Stopped in the same transaction, and a customer's write checks its item before it writes anything.

Why it never half-applies and never leaves a run stuck:

- A customer's write takes its item's row lock first (`lock_pending_item`), and goes on only while the
  item is pending. The stop's UPDATE of the run's pending items waits for those locks: a write under way
  commits (synced, counted) before the stop reads its item, and a write that starts after the stop finds
  its item skipped and writes nothing. SQLite has one writer at a time (`BEGIN IMMEDIATE`): the same.
- Claims (`store.items`) take only pending items, so a job that picks up an item of a stopped run (a
  redelivery, a retry, the sweeper's resend), in any process, does nothing.
- The run is closed by the stop itself, so nothing waits for a worker to close it.

The run's row is locked FOR NO KEY UPDATE (not FOR UPDATE): a write holding its item's lock inserts rows
referencing the run (its previous copy), which takes a KEY SHARE lock that FOR UPDATE would block.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sync_engine.domain import ItemStatus, RunStatus
from sync_engine.run_errors import failure_message
from sync_engine.store import runs
from sync_engine.store.conditional_update import updated
from sync_engine.store.models import BatchRunRow, RunItemRow

__all__ = ["StopResult", "lock_pending_item", "stop_run"]

#: Runs a stop can end: those confirmed and not yet final.
_RUNNING = (RunStatus.RECEIVED.value, RunStatus.IN_PROGRESS.value)


class StopResult(StrEnum):
    """What a stop did to its run."""

    #: This call stopped it: its customers not being written were skipped.
    STOPPED = "stopped"
    #: Nothing was left to skip (its last customer was written before the stop): this call closed it
    #: with the status it had earned (Completed or Error).
    FINISHED = "finished"
    #: It was not running (a draft, or already final): nothing changed.
    NOT_RUNNING = "not_running"


def stop_run(session: Session, run_id: int, stopped_by: str, now: datetime) -> StopResult:
    """Stop a received or in-progress run now, in the caller's transaction; `RunNotFoundError` if none."""
    status = session.scalar(
        select(BatchRunRow.status).where(BatchRunRow.id == run_id).with_for_update(key_share=True)
    )
    if status is None:
        runs.get_run(session, run_id)  # raises RunNotFoundError
    if status not in _RUNNING:
        return StopResult.NOT_RUNNING
    # Waits for the writes under way (they hold their items' locks); skips every other pending item.
    skipped = updated(
        session,
        update(RunItemRow)
        .where(RunItemRow.run_id == run_id, RunItemRow.status == ItemStatus.PENDING.value)
        .values(
            status=ItemStatus.SKIPPED.value,
            error=f"Skipped: the run was stopped by {stopped_by}.",
            lease_owner=None,
            lease_until=None,
            finished_at=now,
        ),
    )
    if not skipped:
        runs.finish_run_if_done(session, run_id, now)
        return StopResult.FINISHED
    session.execute(
        update(BatchRunRow)
        .where(BatchRunRow.id == run_id)
        .values(
            status=RunStatus.STOPPED.value,
            error=_failures(session, run_id),
            stopped_by=stopped_by,
            stopped_at=now,
            finished_at=now,
            updated_at=now,
        )
    )
    return StopResult.STOPPED


def _failures(session: Session, run_id: int) -> str | None:
    """The error of customers that failed before the stop, as a finished run would word it; None if none."""
    items = session.execute(
        select(RunItemRow.identifier, RunItemRow.status, RunItemRow.customer_wid, RunItemRow.error)
        .where(RunItemRow.run_id == run_id)
        .order_by(RunItemRow.position)
    ).all()
    failed = [(item.identifier, item.error or "") for item in items if item.status == ItemStatus.FAILED.value]
    if not failed:
        return None
    synced = sum(1 for item in items if item.status == ItemStatus.SYNCED.value)
    resolved = sum(1 for item in items if item.customer_wid is not None)
    return failure_message(failed, synced=synced, resolved=resolved)


def lock_pending_item(session: Session, item_id: int) -> bool:
    """A customer's write, first: lock its item until commit; False if the item is no longer pending
    (synced by another delivery, or skipped by a stop), and the write must not happen."""
    status = session.scalar(select(RunItemRow.status).where(RunItemRow.id == item_id).with_for_update())
    return status == ItemStatus.PENDING.value
