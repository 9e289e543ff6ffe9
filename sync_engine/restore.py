"""What a restore run's jobs do: put back, one customer per transaction, the previous copy another run kept.

A restore run is a run of kind `restore` whose items name customers by wid (nothing to resolve), so it
starts, is resumed and finishes as any run does (`sync.resolve_run`, `resume`, `sync.finish_if_done`); only
its items' work differs. Each customer is checked, kept as it is now (the restore's own previous copy, so
a restore can be restored), overwritten with the copy and its item completed in one transaction: a
killed worker leaves it wholly as it was or wholly restored, and a redelivered message finds the item
done and changes nothing.
"""

from __future__ import annotations

import logging

from sync_engine import logs
from sync_engine.clock import utcnow
from sync_engine.domain import RunKind
from sync_engine.leases import ITEM_LEASE
from sync_engine.progress import RunEvent, RunEventKind
from sync_engine.retention import keep_previous
from sync_engine.run_errors import attempts_unfinished
from sync_engine.runtime import Runtime
from sync_engine.store import items, previous_copies, runs
from sync_engine.store.customers import lock_stored_customer, overwrite_customer, remove_customer
from sync_engine.store.items import ItemToRestore
from sync_engine.sync import MAX_ITEM_ATTEMPTS, finish_if_done

__all__ = ["COPY_GONE", "OVERWRITTEN_SINCE", "RestoreRefused", "restore_item", "restores"]

log = logging.getLogger(__name__)

#: An item's error when the copy it was to put back expired (dropped) before its turn.
COPY_GONE = "Run {run}'s previous copy of this customer is no longer kept (it expired); nothing changed."
#: An item's error when a later run overwrote the customer after the restore was asked for.
OVERWRITTEN_SINCE = (
    "Overwritten since run {run} by {by}; left as it is (restore with --force to put it back anyway)."
)


class RestoreRefused(Exception):
    """The customer may not be restored (see the message); nothing was written."""


def restores(rt: Runtime, item_id: int) -> bool:
    """Whether the item belongs to a restore run (its job is `restore_item`, not a Workday sync)."""
    with rt.database.session() as session:
        return items.run_kind_of_item(session, item_id) is RunKind.RESTORE


def restore_item(rt: Runtime, item_id: int, *, final_attempt: bool) -> None:
    """Put back one customer of a restore run, atomically; a refusal fails the item, the run goes on."""
    with rt.database.session() as session:
        item = items.claim_item_to_restore(session, item_id, rt.worker_id, utcnow(), ITEM_LEASE)
    if item is None:
        log.info("Item already restored or held by another worker", extra={"item_id": item_id})
        return
    customer = {"run_id": item.run_id, "wid": item.customer_wid}
    logs.bind(**customer)
    if item.attempts > MAX_ITEM_ATTEMPTS:
        _fail(rt, item, attempts_unfinished(MAX_ITEM_ATTEMPTS))
        return
    rt.leases.hold(item_id)
    try:
        try:
            counts = _put_back(rt, item)
        except RestoreRefused as refusal:
            _fail(rt, item, str(refusal))
            return
        except Exception as error:
            # A dropped database connection, a bug: the transaction rolled back; retry while we may.
            if not (final_attempt or item.attempts >= MAX_ITEM_ATTEMPTS):
                with rt.database.session() as session:
                    items.release_item(session, item_id, rt.worker_id)
                raise
            _fail(rt, item, f"Unexpected error while restoring ({type(error).__name__}): {error}")
            return
    finally:
        rt.leases.release(item_id)
    if counts is not None:
        log.info("Customer restored", extra={**customer, **counts})
        rt.events.publish(RunEvent(item.run_id, RunEventKind.PROGRESS))
    finish_if_done(rt, item.run_id)


class _AlreadyDone(Exception):
    """Another delivery of this item committed first: roll this write back."""


def _put_back(rt: Runtime, item: ItemToRestore) -> dict[str, int] | None:
    """The restore's one transaction; the counts it restored, or None if another delivery did it first."""
    try:
        with rt.database.session() as session:
            source = runs.run_source(session, item.run_id)
            assert source.source_run_id is not None
            # The customer's row lock first, so no run writes it between the check and the write.
            stored, by_run = lock_stored_customer(session, item.customer_wid)
            copy = previous_copies.load_copy(session, source.source_run_id, item.customer_wid)
            if copy is None:
                raise RestoreRefused(COPY_GONE.format(run=source.source_run_id))
            if not source.force and (not stored or by_run != source.source_run_id):
                by = f"run {by_run}" if stored and by_run is not None else "another write"
                raise RestoreRefused(OVERWRITTEN_SINCE.format(run=source.source_run_id, by=by))
            keep = keep_previous(rt.settings, item.run_id)
            if copy.snapshot is None:
                # The source run imported the customer: before it, the store did not hold it.
                remove_customer(session, item.customer_wid, keep_previous=keep)
                counts = {"invoices": 0, "payments": 0, "credit_notes": 0}
            else:
                outcome = overwrite_customer(
                    session, copy.snapshot, run_id=item.run_id, keep_previous=keep, newer_wins=False
                )
                counts = {
                    "invoices": outcome.invoices,
                    "payments": outcome.payments,
                    "credit_notes": outcome.credit_notes,
                }
            if not items.complete_item(session, item.item_id, now=utcnow(), **counts):
                raise _AlreadyDone
    except _AlreadyDone:
        return None
    return counts


def _fail(rt: Runtime, item: ItemToRestore, error: str) -> None:
    log.warning(
        "Customer not restored",
        extra={"run_id": item.run_id, "wid": item.customer_wid, "attempt": item.attempts, "error": error},
    )
    with rt.database.session() as session:
        failed = items.fail_item(session, item.item_id, error, utcnow())
    if failed:
        rt.events.publish(RunEvent(item.run_id, RunEventKind.PROGRESS))
    finish_if_done(rt, item.run_id)
