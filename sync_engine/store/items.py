"""A run's items in the store: resolving their identifiers, sending them to workers, leases, results.

Every change is a conditional UPDATE (`updated`), so a step repeated by a second delivery changes nothing.
Transactions that lock a run's row and its items' rows take the run's first (see `claim_item`).
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

from sync_engine.domain import Customer, ItemStatus, RunKind, RunStatus
from sync_engine.run_errors import NOT_FOUND_ON_WORKDAY
from sync_engine.store.conditional_update import updated
from sync_engine.store.database import Database
from sync_engine.store.models import BatchRunRow, CustomerRow, RunItemRow

__all__ = [
    "ItemByWid",
    "ItemToSync",
    "claim_item",
    "claim_item_by_wid",
    "claim_items_to_enqueue",
    "complete_item",
    "customer_wids",
    "fail_item",
    "items_to_resolve",
    "queue_moving",
    "record_resolution",
    "release_item",
    "renew_leases",
    "resolving",
    "run_kind_of_item",
]

#: Namespace of the advisory locks of `resolving` (a run id is the second key).
_RESOLVE_LOCK = 0x5752


@dataclasses.dataclass(frozen=True, slots=True)
class ItemToSync:
    """A claimed item: which customer to fetch, for which run."""

    item_id: int
    run_id: int
    customer: Customer
    #: Claims of this item so far, this one included (retries and resends alike).
    attempts: int


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
            .values(
                customer_wid=customer.wid,
                customer_name=customer.name,
                resolved_customer=_customer_to_json(customer),
            )
        )
    if unresolved:
        session.execute(
            update(RunItemRow)
            .where(
                RunItemRow.run_id == run_id,
                RunItemRow.identifier.in_(list(unresolved)),
                RunItemRow.status == ItemStatus.PENDING.value,
            )
            .values(status=ItemStatus.UNRESOLVED.value, error=NOT_FOUND_ON_WORKDAY, finished_at=now)
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
    claim = update(RunItemRow).where(*conditions).values(enqueued_at=now)
    return [item_id for item_id in ids if updated(session, claim.where(RunItemRow.id == item_id))]


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


def claim_item(
    session: Session, item_id: int, owner: str, now: datetime, lease: timedelta
) -> ItemToSync | None:
    """Take a pending, resolved item for `owner` until `now + lease`; None if done or held by another."""
    item = _lease(session, item_id, owner, now, lease)
    if item is None:
        return None
    assert item.resolved_customer is not None
    return ItemToSync(item.id, item.run_id, _customer_from_json(item.resolved_customer), item.attempts)


@dataclasses.dataclass(frozen=True, slots=True)
class ItemByWid:
    """A claimed item whose identifier is a customer's wid (a restore's, an apply's): nothing to resolve."""

    item_id: int
    run_id: int
    customer_wid: str
    #: Claims of this item so far, this one included.
    attempts: int


def claim_item_by_wid(
    session: Session, item_id: int, owner: str, now: datetime, lease: timedelta
) -> ItemByWid | None:
    """`claim_item` for an item naming its customer by wid (a restore's, an apply's)."""
    item = _lease(session, item_id, owner, now, lease)
    if item is None:
        return None
    assert item.customer_wid is not None
    return ItemByWid(item.id, item.run_id, item.customer_wid, item.attempts)


def run_kind_of_item(session: Session, item_id: int) -> RunKind | None:
    """The kind of the run the item belongs to; None if there is no such item."""
    kind = session.scalar(
        select(BatchRunRow.kind)
        .join(RunItemRow, RunItemRow.run_id == BatchRunRow.id)
        .where(RunItemRow.id == item_id)
    )
    return RunKind(kind) if kind is not None else None


def _lease(session: Session, item_id: int, owner: str, now: datetime, lease: timedelta) -> RunItemRow | None:
    pending = (RunItemRow.id == item_id, RunItemRow.status == ItemStatus.PENDING.value)
    run_id = session.scalar(select(RunItemRow.run_id).where(*pending))
    if run_id is None:
        return None  # done already: a redelivered message
    # The run's row before its item's, the order of every transaction that locks both (starting a
    # run, resuming it, stopping it): the opposite order deadlocked against them.
    _touch(session, run_id, now)
    claimed = updated(
        session,
        update(RunItemRow)
        .where(
            RunItemRow.id == item_id,
            RunItemRow.status == ItemStatus.PENDING.value,
            RunItemRow.customer_wid.is_not(None),
            or_(RunItemRow.lease_until.is_(None), RunItemRow.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + lease, attempts=RunItemRow.attempts + 1),
    )
    if not claimed:
        return None
    return session.get_one(RunItemRow, item_id)


def customer_wids(session: Session, item_ids: Sequence[int]) -> dict[int, str]:
    """The resolved customer's WID of each item (items not resolved are left out)."""
    rows = session.execute(
        select(RunItemRow.id, RunItemRow.customer_wid).where(
            RunItemRow.id.in_(list(item_ids)), RunItemRow.customer_wid.is_not(None)
        )
    )
    return {item_id: wid for item_id, wid in rows if wid is not None}


def renew_leases(session: Session, owner: str, item_ids: Sequence[int], until: datetime) -> None:
    """Extend the leases `owner` still holds (a live worker keeps its items).

    Items locked by their customer's write under way (`store.stops.lock_pending_item`) are passed over
    rather than waited for: that write ends them, and the other items' renewals must not wait on it."""
    if item_ids:
        free = (
            select(RunItemRow.id)
            .where(RunItemRow.id.in_(list(item_ids)), RunItemRow.lease_owner == owner)
            .with_for_update(skip_locked=True)
        )
        session.execute(
            update(RunItemRow).where(RunItemRow.id.in_(free.scalar_subquery())).values(lease_until=until)
        )


def release_item(session: Session, item_id: int, owner: str) -> None:
    """Give an item back (a retry will claim it again) without changing its status."""
    session.execute(
        update(RunItemRow)
        .where(RunItemRow.id == item_id, RunItemRow.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def complete_item(
    session: Session,
    item_id: int,
    *,
    invoices: int,
    payments: int,
    credit_notes: int,
    now: datetime,
    customer_name: str | None = None,
) -> bool:
    """Pending → synced with its counts; False if another delivery completed it first.

    The item keeps its customer's name: `customer_name`, or else the stored customer's, which the caller's
    transaction has just written (a sync, an apply, a restore), or else the name it resolved with."""
    written_name = (
        select(CustomerRow.name).where(CustomerRow.wid == RunItemRow.customer_wid).scalar_subquery()
    )
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
        customer_name=customer_name
        if customer_name is not None
        else func.coalesce(written_name, RunItemRow.customer_name),
    )


def fail_item(session: Session, item_id: int, error: str, now: datetime) -> bool:
    """Pending → failed with the reason; False if it was no longer pending."""
    return _close_item(session, item_id, ItemStatus.FAILED, now, error=error)


def _close_item(session: Session, item_id: int, status: ItemStatus, now: datetime, **values: Any) -> bool:
    # Only a pending item closes, once: a second delivery or a stopped run finds nothing to update.
    return updated(
        session,
        update(RunItemRow)
        .where(RunItemRow.id == item_id, RunItemRow.status == ItemStatus.PENDING.value)
        .values(status=status.value, lease_owner=None, lease_until=None, finished_at=now, **values),
    )


def _touch(session: Session, run_id: int, now: datetime) -> None:
    session.execute(update(BatchRunRow).where(BatchRunRow.id == run_id).values(updated_at=now))


# The resolved customer waits in `run_items.resolved_customer` (JSON) until its item is synced.
def _customer_to_json(customer: Customer) -> dict[str, Any]:
    data = dataclasses.asdict(customer)
    if customer.total_balance is not None:
        data["total_balance"] = str(customer.total_balance)
    return data


def _customer_from_json(data: dict[str, Any]) -> Customer:
    balance = data.get("total_balance")
    return Customer(**{**data, "total_balance": Decimal(balance) if balance is not None else None})
