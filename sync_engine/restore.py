"""What a restore run's items do: put back, one customer per transaction, the previous copy a run kept.

A restore run is a run of kind `restore` whose items name customers by wid (nothing to resolve), so it
starts, is resumed and finishes as any run does; each item is one store transaction
(`store_item_job`): the customer is checked, kept as it is now (the restore's own previous copy, so a
restore can be restored) and overwritten with the copy, with the item's completion.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sync_engine.retention import keep_previous
from sync_engine.runtime import Runtime
from sync_engine.store import previous_copies, runs
from sync_engine.store.customers import lock_stored_customer, overwrite_customer, remove_customer
from sync_engine.store.items import ItemByWid
from sync_engine.store_item_job import Counts, Refused, work_store_item

__all__ = ["COPY_GONE", "OVERWRITTEN_SINCE", "put_back_copy", "restore_item"]

#: An item's error when the copy it was to put back expired (dropped) before its turn.
COPY_GONE = "Run {run}'s previous copy of this customer is no longer kept (it expired); nothing changed."
#: An item's error when a later run overwrote the customer after the restore was asked for.
OVERWRITTEN_SINCE = (
    "Overwritten since run {run} by {by}; left as it is (restore with --force to put it back anyway)."
)


def restore_item(rt: Runtime, item_id: int, *, final_attempt: bool) -> None:
    """Put back one customer of a restore run, atomically; a refusal fails the item, the run goes on."""
    work_store_item(rt, item_id, final_attempt=final_attempt, write=put_back_copy, outcome="restored")


def put_back_copy(rt: Runtime, session: Session, item: ItemByWid) -> Counts:
    """In the caller's transaction: the source run's copy of the customer, back in the store."""
    source = runs.run_source(session, item.run_id)
    assert source.source_run_id is not None
    # The customer's row lock first, so no run writes it between the check and the write.
    stored = lock_stored_customer(session, item.customer_wid)
    copy = previous_copies.load_copy(session, source.source_run_id, item.customer_wid)
    if copy is None:
        raise Refused(COPY_GONE.format(run=source.source_run_id))
    by_run = stored.synced_by_run_id if stored is not None else None
    if not source.force and (stored is None or by_run != source.source_run_id):
        by = f"run {by_run}" if by_run is not None else "another write"
        raise Refused(OVERWRITTEN_SINCE.format(run=source.source_run_id, by=by))
    keep = keep_previous(rt.settings, item.run_id)
    if copy.snapshot is None:
        # The source run imported the customer: before it, the store did not hold it.
        remove_customer(session, item.customer_wid, keep_previous=keep)
        return {"invoices": 0, "payments": 0, "credit_notes": 0}
    outcome = overwrite_customer(
        session, copy.snapshot, run_id=item.run_id, keep_previous=keep, newer_wins=False
    )
    return {"invoices": outcome.invoices, "payments": outcome.payments, "credit_notes": outcome.credit_notes}
