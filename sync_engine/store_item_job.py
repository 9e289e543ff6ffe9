"""Items whose work is one store transaction and no Workday request (a restore's, an apply's).

The item is claimed with a lease (like a sync's), then `write` runs in one transaction with the item's
completion: a killed worker leaves the customer wholly as it was or wholly written, a redelivered message
finds the item done and changes nothing, and a `Refused` write fails the item (the run goes on).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from sync_engine import logs, metrics
from sync_engine.clock import utcnow
from sync_engine.leases import ITEM_LEASE
from sync_engine.progress import RunEvent, RunEventKind
from sync_engine.run_errors import attempts_unfinished
from sync_engine.runtime import Runtime
from sync_engine.store import items, stops
from sync_engine.store.items import ItemByWid
from sync_engine.sync import MAX_ITEM_ATTEMPTS, finish_if_done

__all__ = ["Counts", "Refused", "StoreWrite", "work_store_item"]

log = logging.getLogger(__name__)

#: Documents written per kind: {"invoices": n, "payments": n, "credit_notes": n}.
Counts = dict[str, int]
#: Writes one item's customer in the caller's transaction; returns the counts or raises `Refused`.
StoreWrite = Callable[[Runtime, Session, ItemByWid], Counts]


class Refused(Exception):
    """The customer may not be written (the message says why); nothing was."""


class _AlreadyDone(Exception):
    """Another delivery of this item committed first: roll this write back."""


def work_store_item(
    rt: Runtime, item_id: int, *, final_attempt: bool, write: StoreWrite, outcome: metrics.CustomerOutcome
) -> None:
    """Claim the item, run `write` and complete the item in one transaction; `outcome` names what that
    did to the customer, in logs and metrics."""
    with rt.database.session() as session:
        item = items.claim_item_by_wid(session, item_id, rt.worker_id, utcnow(), ITEM_LEASE)
    if item is None:
        log.info("Item already done or held by another worker", extra={"item_id": item_id})
        return
    customer = {"run_id": item.run_id, "wid": item.customer_wid}
    logs.bind(**customer)
    if item.attempts > MAX_ITEM_ATTEMPTS:
        _fail(rt, item, attempts_unfinished(MAX_ITEM_ATTEMPTS))
        return
    rt.leases.hold(item_id)
    try:
        try:
            counts = _write_and_complete(rt, item, write)
        except Refused as refusal:
            _fail(rt, item, str(refusal))
            return
        except Exception as error:
            # A dropped database connection, a bug: the transaction rolled back; retry while we may.
            if not (final_attempt or item.attempts >= MAX_ITEM_ATTEMPTS):
                with rt.database.session() as session:
                    items.release_item(session, item_id, rt.worker_id)
                raise
            _fail(rt, item, f"Unexpected error ({type(error).__name__}): {error}")
            return
    finally:
        rt.leases.release(item_id)
    if counts is not None:
        metrics.customer_done(outcome, **counts)
        log.info(f"Customer {outcome}", extra={**customer, **counts})
        rt.events.publish(RunEvent(item.run_id, RunEventKind.PROGRESS))
    finish_if_done(rt, item.run_id)


def _write_and_complete(rt: Runtime, item: ItemByWid, write: StoreWrite) -> Counts | None:
    try:
        with rt.database.session() as session:
            # The item first: a stop waits for this write, or this write sees the item skipped.
            if not stops.lock_pending_item(session, item.item_id):
                raise _AlreadyDone
            counts = write(rt, session, item)
            completed = items.complete_item(
                session,
                item.item_id,
                invoices=counts["invoices"],
                payments=counts["payments"],
                credit_notes=counts["credit_notes"],
                now=utcnow(),
            )
            if not completed:
                raise _AlreadyDone
    except _AlreadyDone:
        return None
    return counts


def _fail(rt: Runtime, item: ItemByWid, error: str) -> None:
    log.warning(
        "Customer not written",
        extra={"run_id": item.run_id, "wid": item.customer_wid, "attempt": item.attempts, "error": error},
    )
    with rt.database.session() as session:
        failed = items.fail_item(session, item.item_id, error, utcnow())
    if failed:
        metrics.customer_failed()
        rt.events.publish(RunEvent(item.run_id, RunEventKind.PROGRESS))
    finish_if_done(rt, item.run_id)
