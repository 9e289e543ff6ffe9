"""Batch runs and their items in the store: every state change is one conditional UPDATE.

Conditional updates (`WHERE status = 'pending'`, `WHERE status = 'draft'`...) make each step safe to repeat:
Dramatiq delivers at least once, so any job may run twice, and only the first attempt changes anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from sync_engine.errors import RunNotFoundError
from sync_engine.records import (
    BatchRun,
    Customer,
    IdentifierType,
    ItemStatus,
    RunCounts,
    RunStatus,
)
from sync_engine.store.database import Database
from sync_engine.store.models import BatchRunRow, RunItemRow

__all__ = [
    "NOTHING_RESOLVED",
    "ItemToSync",
    "cancel_run",
    "claim_item",
    "claim_items_to_enqueue",
    "claim_run_restart",
    "complete_item",
    "confirm_run",
    "count_start_attempt",
    "create_run",
    "fail_item",
    "finish_run_if_done",
    "finished_runs_lacking_note",
    "get_run",
    "items_to_resolve",
    "list_runs",
    "mark_started",
    "queue_moving",
    "record_resolution",
    "release_item",
    "renew_leases",
    "resolving",
    "run_with_request_digest",
    "save_notes",
    "set_slack_message",
    "stop_run",
    "unfinished_runs",
]

#: Namespace of the advisory locks of `resolving` (a run id is the second key).
_RESOLVE_LOCK = 0x5752
#: Longest error text kept per customer in the run's summary (the item keeps the full text).
_ITEM_ERROR_IN_SUMMARY = 300


@dataclasses.dataclass(frozen=True, slots=True)
class ItemToSync:
    """A claimed item: which customer to fetch, for which run."""

    item_id: int
    run_id: int
    customer: Customer
    #: Claims of this item so far, this one included (retries and resends alike).
    attempts: int


def create_run(
    session: Session,
    *,
    identifier_type: IdentifierType,
    identifiers: Sequence[str],
    requested_by: str,
    status: RunStatus,
    now: datetime,
    slack_channel: str | None = None,
    request_digest: str | None = None,
) -> int:
    """Store a run (draft or received) and one pending item per identifier, in paste order.

    `request_digest` is unique: storing a second run with it fails (`IntegrityError`) at flush or commit.
    """
    run = BatchRunRow(
        status=status.value,
        identifier_type=identifier_type.value,
        requested_by=requested_by,
        created_at=now,
        confirmed_at=now if status is RunStatus.RECEIVED else None,
        updated_at=now,
        slack_channel=slack_channel,
        extra={},
        request_digest=request_digest,
    )
    session.add(run)
    session.flush()
    session.add_all(
        RunItemRow(run_id=run.id, position=position, identifier=identifier, status=ItemStatus.PENDING.value)
        for position, identifier in enumerate(identifiers)
    )
    return run.id


def run_with_request_digest(session: Session, digest: str) -> int | None:
    """The id of the run a request with this digest stored, if any."""
    return session.scalar(select(BatchRunRow.id).where(BatchRunRow.request_digest == digest))


def confirm_run(session: Session, run_id: int, now: datetime) -> bool:
    """Draft → received; False when it was not a draft (already confirmed, cancelled, unknown)."""
    result = session.execute(
        update(BatchRunRow)
        .where(BatchRunRow.id == run_id, BatchRunRow.status == RunStatus.DRAFT.value)
        .values(status=RunStatus.RECEIVED.value, confirmed_at=now, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def cancel_run(session: Session, run_id: int, now: datetime) -> bool:
    """Draft → cancelled; False when it was not a draft."""
    result = session.execute(
        update(BatchRunRow)
        .where(BatchRunRow.id == run_id, BatchRunRow.status == RunStatus.DRAFT.value)
        .values(status=RunStatus.CANCELLED.value, finished_at=now, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_slack_message(session: Session, run_id: int, channel: str, ts: str) -> None:
    """Remember where the run's status message lives."""
    session.execute(
        update(BatchRunRow).where(BatchRunRow.id == run_id).values(slack_channel=channel, slack_message_ts=ts)
    )


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


def items_to_resolve(session: Session, run_id: int) -> list[str]:
    """Identifiers of the run not yet looked up on Workday, in paste order."""
    rows = session.scalars(
        select(RunItemRow.identifier)
        .where(
            RunItemRow.run_id == run_id,
            RunItemRow.status == ItemStatus.PENDING.value,
            RunItemRow.customer_wid.is_(None),
        )
        .order_by(RunItemRow.position)
    )
    return list(rows)


def record_resolution(
    session: Session, run_id: int, found: dict[str, Customer], unresolved: Sequence[str], now: datetime
) -> None:
    """Attach each found customer to its item; mark the others unresolved."""
    _touch(session, run_id, now)  # the run's row first (see `claim_item`)
    for identifier, customer in found.items():
        session.execute(
            update(RunItemRow)
            .where(
                RunItemRow.run_id == run_id,
                RunItemRow.identifier == identifier,
                RunItemRow.status == ItemStatus.PENDING.value,
            )
            .values(customer_wid=customer.wid, resolved_customer=_customer_to_json(customer))
        )
    if unresolved:
        session.execute(
            update(RunItemRow)
            .where(
                RunItemRow.run_id == run_id,
                RunItemRow.identifier.in_(list(unresolved)),
                RunItemRow.status == ItemStatus.PENDING.value,
            )
            .values(status=ItemStatus.UNRESOLVED.value, error="Not found on Workday", finished_at=now)
        )


@contextmanager
def resolving(database: Database, run_id: int) -> Iterator[bool]:
    """Whether this caller may resolve the run now: False while another holds it (a duplicate delivery
    of its `start_run` message), so that Workday is asked once.

    PostgreSQL: a transaction-level advisory lock, held by an otherwise idle transaction for the block
    and freed by the server if the holder dies. SQLite: one process works on the store, always True.
    """
    if database.dialect != "postgresql":
        yield True
        return
    with database.session() as session:
        yield bool(session.scalar(select(func.pg_try_advisory_xact_lock(_RESOLVE_LOCK, run_id))))


def mark_started(session: Session, run_id: int, now: datetime) -> bool:
    """Received → in progress; False when the run had already left `received`."""
    result = session.execute(
        update(BatchRunRow)
        .where(BatchRunRow.id == run_id, BatchRunRow.status == RunStatus.RECEIVED.value)
        .values(status=RunStatus.IN_PROGRESS.value, started_at=now, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def claim_items_to_enqueue(
    session: Session,
    run_id: int,
    now: datetime,
    *,
    enqueued_before: datetime | None = None,
    queue_moving: bool = False,
) -> list[int]:
    """Resolved, pending items to send to the broker; marks them enqueued at `now`.

    Without `enqueued_before`, only items never sent. With it (the sweeper), also the items whose message
    may be lost: those whose lease ran out since they were last sent (their worker died mid-customer) and,
    unless `queue_moving`, unleased ones sent before `enqueued_before` (a worker died with them
    prefetched, or Redis restarted). While the queue moves those are merely waiting their turn (and a dead
    worker's prefetched messages come back through Dramatiq's own requeue).
    The conditional update lets concurrent callers send each item once.
    """
    never_sent = and_(RunItemRow.enqueued_at.is_(None), RunItemRow.lease_until.is_(None))
    lost: ColumnElement[bool] = never_sent
    if enqueued_before is not None:
        holder_died = and_(RunItemRow.lease_until < now, RunItemRow.enqueued_at <= RunItemRow.lease_until)
        sent_long_ago = and_(RunItemRow.lease_until.is_(None), RunItemRow.enqueued_at < enqueued_before)
        lost = or_(never_sent, holder_died) if queue_moving else or_(never_sent, holder_died, sent_long_ago)
    conditions = (
        RunItemRow.run_id == run_id,
        RunItemRow.status == ItemStatus.PENDING.value,
        RunItemRow.customer_wid.is_not(None),
        lost,
    )
    ids = list(session.scalars(select(RunItemRow.id).where(*conditions).order_by(RunItemRow.position)))
    claimed: list[int] = []
    for item_id in ids:
        result = session.execute(
            update(RunItemRow).where(RunItemRow.id == item_id, *conditions).values(enqueued_at=now)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            claimed.append(item_id)
    return claimed


def claim_run_restart(session: Session, run_id: int, now: datetime, *, untouched_since: datetime) -> bool:
    """Mark an unfinished run untouched since `untouched_since` as restarted now; True for one caller."""
    result = session.execute(
        update(BatchRunRow)
        .where(
            BatchRunRow.id == run_id,
            BatchRunRow.status.in_([RunStatus.RECEIVED.value, RunStatus.IN_PROGRESS.value]),
            BatchRunRow.updated_at <= untouched_since,
        )
        .values(updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def count_start_attempt(session: Session, run_id: int) -> int:
    """Count one more attempt at resolving the run's identifiers; the attempts so far, this one included."""
    attempts = session.scalar(
        update(BatchRunRow)
        .where(BatchRunRow.id == run_id)
        .values(start_attempts=BatchRunRow.start_attempts + 1)
        .returning(BatchRunRow.start_attempts)
    )
    return int(attempts or 0)


def queue_moving(session: Session, *, since: datetime, now: datetime) -> bool:
    """Whether workers are getting through the queue: an item of an unfinished run was claimed since
    `since` (claims touch their run) or is held under a live lease."""
    unfinished = BatchRunRow.status.in_([RunStatus.RECEIVED.value, RunStatus.IN_PROGRESS.value])
    claimed = select(BatchRunRow.id).where(unfinished, BatchRunRow.updated_at >= since).exists()
    held = (
        select(RunItemRow.id)
        .where(RunItemRow.status == ItemStatus.PENDING.value, RunItemRow.lease_until > now)
        .exists()
    )
    return bool(session.scalar(select(or_(claimed, held))))


def unfinished_runs(session: Session) -> list[int]:
    """Runs confirmed and not yet final, oldest first."""
    return list(
        session.scalars(
            select(BatchRunRow.id)
            .where(BatchRunRow.status.in_([RunStatus.RECEIVED.value, RunStatus.IN_PROGRESS.value]))
            .order_by(BatchRunRow.id)
        )
    )


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


def claim_item(
    session: Session, item_id: int, owner: str, now: datetime, lease: timedelta
) -> ItemToSync | None:
    """Take a pending, resolved item for `owner` until `now + lease`; None if done or held by another."""
    pending = (RunItemRow.id == item_id, RunItemRow.status == ItemStatus.PENDING.value)
    run_id = session.scalar(select(RunItemRow.run_id).where(*pending))
    if run_id is None:
        return None  # done already: a redelivered message
    # The run's row before its item's, the order of every transaction that locks both (starting a
    # run, resuming it, stopping it): the opposite order deadlocked against them.
    _touch(session, run_id, now)
    result = session.execute(
        update(RunItemRow)
        .where(
            RunItemRow.id == item_id,
            RunItemRow.status == ItemStatus.PENDING.value,
            RunItemRow.customer_wid.is_not(None),
            or_(RunItemRow.lease_until.is_(None), RunItemRow.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + lease, attempts=RunItemRow.attempts + 1)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    item = session.get_one(RunItemRow, item_id)
    assert item.resolved_customer is not None
    return ItemToSync(item.id, item.run_id, _customer_from_json(item.resolved_customer), item.attempts)


def renew_leases(session: Session, owner: str, item_ids: Sequence[int], until: datetime) -> None:
    """Extend the leases `owner` still holds (a live worker keeps its items)."""
    if item_ids:
        session.execute(
            update(RunItemRow)
            .where(RunItemRow.id.in_(list(item_ids)), RunItemRow.lease_owner == owner)
            .values(lease_until=until)
        )


def release_item(session: Session, item_id: int, owner: str) -> None:
    """Give an item back (a retry will claim it again) without changing its status."""
    session.execute(
        update(RunItemRow)
        .where(RunItemRow.id == item_id, RunItemRow.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def complete_item(
    session: Session, item_id: int, *, invoices: int, payments: int, credit_notes: int, now: datetime
) -> bool:
    """Pending → synced with its counts; False if another delivery completed it first."""
    return _close_item(
        session,
        item_id,
        ItemStatus.SYNCED,
        now,
        invoices=invoices,
        payments=payments,
        credit_notes=credit_notes,
        error=None,
        resolved_customer=None,
    )


def fail_item(session: Session, item_id: int, error: str, now: datetime) -> bool:
    """Pending → failed with the reason; False if it was no longer pending."""
    return _close_item(session, item_id, ItemStatus.FAILED, now, error=error)


def _close_item(session: Session, item_id: int, status: ItemStatus, now: datetime, **values: Any) -> bool:
    # Only a pending item closes, once: a second delivery or a stopped run finds nothing to update.
    result = session.execute(
        update(RunItemRow)
        .where(RunItemRow.id == item_id, RunItemRow.status == ItemStatus.PENDING.value)
        .values(status=status.value, lease_owner=None, lease_until=None, finished_at=now, **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def stop_run(session: Session, run_id: int, error: str, now: datetime) -> bool:
    """End a run in error now: a fatal problem (credentials, permissions) would fail every customer.

    Pending items become failed with `error`; what already synced stays synced and counted.
    """
    run = session.get(BatchRunRow, run_id, with_for_update=True)
    if run is None or RunStatus(run.status) not in (RunStatus.RECEIVED, RunStatus.IN_PROGRESS):
        return False
    session.execute(
        update(RunItemRow)
        .where(RunItemRow.run_id == run_id, RunItemRow.status == ItemStatus.PENDING.value)
        .values(
            status=ItemStatus.FAILED.value, error=error, lease_owner=None, lease_until=None, finished_at=now
        )
    )
    summary = _summarise(session, run_id)
    run.status = RunStatus.ERROR.value
    run.error = _fatal_message(error, summary)
    run.started_at = run.started_at or now
    run.finished_at = now
    run.updated_at = now
    return True


def finish_run_if_done(session: Session, run_id: int, now: datetime) -> RunStatus | None:
    """Close an in-progress run whose items are all final; return its final status if this call closed it.

    Called after every item commits (each in its own transaction), so whichever commit comes last sees
    every item final; the conditional update lets exactly one caller close the run.
    """
    pending = session.scalar(
        select(func.count())
        .select_from(RunItemRow)
        .where(RunItemRow.run_id == run_id, RunItemRow.status == ItemStatus.PENDING.value)
    )
    if pending:
        return None
    summary = _summarise(session, run_id)
    if summary.synced == 0 and not summary.failed:
        status, error = RunStatus.ERROR, NOTHING_RESOLVED
    elif summary.failed:
        status, error = RunStatus.ERROR, _failure_message(summary)
    else:
        status, error = RunStatus.COMPLETED, None
    result = session.execute(
        update(BatchRunRow)
        .where(
            BatchRunRow.id == run_id,
            BatchRunRow.status.in_([RunStatus.RECEIVED.value, RunStatus.IN_PROGRESS.value]),
        )
        .values(
            status=status.value,
            error=error,
            started_at=func.coalesce(BatchRunRow.started_at, now),
            finished_at=now,
            updated_at=now,
        )
    )
    return status if result.rowcount else None  # type: ignore[attr-defined]


#: The run's error when not one identifier resolved (exact text the admins see).
NOTHING_RESOLVED = (
    "None of the customers could be resolved on Workday. Please verify the identifiers are correct."
)


def get_run(session: Session, run_id: int) -> BatchRun:
    """The run as front ends show it; `RunNotFoundError` if there is none."""
    run = session.get(BatchRunRow, run_id)
    if run is None:
        raise RunNotFoundError(f"There is no batch run {run_id}.")
    return _to_record(session, run)


def list_runs(session: Session, *, limit: int, offset: int = 0) -> list[BatchRun]:
    """Confirmed runs, most recent first (drafts and cancelled drafts are not history)."""
    runs = session.scalars(
        select(BatchRunRow)
        .where(BatchRunRow.status.not_in([RunStatus.DRAFT.value, RunStatus.CANCELLED.value]))
        .order_by(BatchRunRow.created_at.desc(), BatchRunRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_to_record(session, run) for run in runs]


def _touch(session: Session, run_id: int, now: datetime) -> None:
    session.execute(update(BatchRunRow).where(BatchRunRow.id == run_id).values(updated_at=now))


@dataclasses.dataclass(frozen=True, slots=True)
class _Summary:
    counts: RunCounts
    synced: int
    resolved: int
    unresolved: list[str]
    failed: list[tuple[str, str]]
    identifiers: list[str]


def _summarise(session: Session, run_id: int) -> _Summary:
    items = session.execute(
        select(
            RunItemRow.identifier,
            RunItemRow.status,
            RunItemRow.customer_wid,
            RunItemRow.invoices,
            RunItemRow.payments,
            RunItemRow.credit_notes,
            RunItemRow.error,
        )
        .where(RunItemRow.run_id == run_id)
        .order_by(RunItemRow.position)
    ).all()
    synced = [item for item in items if item.status == ItemStatus.SYNCED.value]
    return _Summary(
        counts=RunCounts(
            customers=len(synced),
            invoices=sum(item.invoices for item in synced),
            payments=sum(item.payments for item in synced),
            credit_notes=sum(item.credit_notes for item in synced),
        ),
        synced=len(synced),
        resolved=sum(1 for item in items if item.customer_wid is not None),
        unresolved=[item.identifier for item in items if item.status == ItemStatus.UNRESOLVED.value],
        failed=[
            (item.identifier, item.error or "") for item in items if item.status == ItemStatus.FAILED.value
        ],
        identifiers=[item.identifier for item in items],
    )


def _failure_message(summary: _Summary) -> str:
    details = "; ".join(f"{identifier}: {_clip(error)}" for identifier, error in summary.failed)
    return (
        f"{len(summary.failed)} of {summary.resolved} customers could not be synced "
        f"({summary.synced} synced and kept). Not synced: {details}"
    )


def _fatal_message(error: str, summary: _Summary) -> str:
    not_synced = ", ".join(identifier for identifier, _ in summary.failed)
    return (
        f"{error} The run stopped: {summary.synced} of {summary.resolved} customers synced and kept; "
        f"not synced: {not_synced or 'none'}."
    )


def _clip(text: str) -> str:
    return text if len(text) <= _ITEM_ERROR_IN_SUMMARY else text[: _ITEM_ERROR_IN_SUMMARY - 1] + "…"


def _to_record(session: Session, run: BatchRunRow) -> BatchRun:
    summary = _summarise(session, run.id)
    return BatchRun(
        id=run.id,
        status=RunStatus(run.status),
        identifier_type=IdentifierType(run.identifier_type),
        identifiers=summary.identifiers,
        requested_by=run.requested_by,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        counts=summary.counts,
        resolved=summary.resolved,
        unresolved=summary.unresolved,
        failed=[identifier for identifier, _ in summary.failed],
        error=run.error,
        slack_channel=run.slack_channel,
        slack_message_ts=run.slack_message_ts,
        notes=dict(run.extra or {}),
    )


def _customer_to_json(customer: Customer) -> dict[str, Any]:
    data = dataclasses.asdict(customer)
    if customer.total_balance is not None:
        data["total_balance"] = str(customer.total_balance)
    return data


def _customer_from_json(data: dict[str, Any]) -> Customer:
    balance = data.get("total_balance")
    return Customer(**{**data, "total_balance": Decimal(balance) if balance is not None else None})
