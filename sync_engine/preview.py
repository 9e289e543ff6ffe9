"""What preview and apply runs' items do.

A preview item is fetched exactly as a sync's (`sync.sync_group`), then staged instead of written: in one
transaction, holding the customer's row lock, its diff against the store is measured and kept with the
snapshot and the moment the store's row was written. An apply item writes that staged snapshot (no
Workday request), unless a run wrote the customer since the preview measured it: then it is left out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sync_engine.clock import utcnow
from sync_engine.domain import CustomerSnapshot
from sync_engine.preview_diff import diff_customer
from sync_engine.retention import keep_previous
from sync_engine.runtime import Runtime
from sync_engine.snapshot_codec import decode_snapshot, encode_snapshot
from sync_engine.store import items, runs, staged_snapshots, stops
from sync_engine.store.customers import load_customer, lock_stored_customer, overwrite_customer
from sync_engine.store.items import ItemByWid, ItemToSync
from sync_engine.store_item_job import Counts, Refused, work_store_item

__all__ = ["PREVIEW_GONE", "WRITTEN_SINCE", "apply_item", "stage_snapshot", "write_staged"]

#: An apply item's error when its preview expired (and its staged data was dropped).
PREVIEW_GONE = "Preview {run} expired: its staged data is dropped. Preview again."
#: An apply item's error when another run wrote the customer after the preview.
WRITTEN_SINCE = "Written by {by} since preview {run}; left out, not overwritten with older data."


def stage_snapshot(rt: Runtime, item: ItemToSync, snapshot: CustomerSnapshot) -> bool:
    """Stage a preview item's fetched snapshot with its diff and complete the item, in one transaction;
    False if another delivery staged it first."""
    now = utcnow()
    try:
        _stage(rt, item, snapshot, now)
    except _AlreadyStaged:
        return False
    return True


class _AlreadyStaged(Exception):
    """Another delivery of this item committed first: roll this staging back."""


def _stage(rt: Runtime, item: ItemToSync, snapshot: CustomerSnapshot, now: datetime) -> None:
    with rt.database.session() as session:
        # The item first: a stop waits for this staging, or this staging sees the item skipped.
        if not stops.lock_pending_item(session, item.item_id):
            raise _AlreadyStaged
        # Locked, so the stored customer read for the diff is one write's, not a mix of two.
        stored = lock_stored_customer(session, snapshot.customer.wid)
        current = load_customer(session, snapshot.customer.wid) if stored is not None else None
        staged_snapshots.stage(
            session,
            run_id=item.run_id,
            customer_wid=snapshot.customer.wid,
            snapshot=encode_snapshot(snapshot),
            diff=diff_customer(current, snapshot).to_json(),
            base_synced_at=stored.synced_at if stored is not None else None,
            now=now,
            expires_at=now + timedelta(seconds=rt.settings.resync_preview_ttl),
        )
        completed = items.complete_item(
            session,
            item.item_id,
            invoices=len({invoice.wid for invoice in snapshot.invoices}),
            payments=len({payment.wid for payment in snapshot.payments}),
            credit_notes=len({note.wid for note in snapshot.credit_notes}),
            now=now,
            customer_name=snapshot.customer.name,
        )
        if not completed:
            raise _AlreadyStaged


def apply_item(rt: Runtime, item_id: int, *, final_attempt: bool) -> None:
    """Write one customer's staged snapshot for an apply run, atomically."""
    work_store_item(rt, item_id, final_attempt=final_attempt, write=write_staged, outcome="applied")


def write_staged(rt: Runtime, session: Session, item: ItemByWid) -> Counts:
    """In the caller's transaction: the preview's staged snapshot of the customer, written."""
    source = runs.run_source(session, item.run_id)
    assert source.source_run_id is not None
    stored = lock_stored_customer(session, item.customer_wid)
    loaded = staged_snapshots.load_staged(session, source.source_run_id, item.customer_wid)
    if loaded is None or loaded[0].expires_at <= utcnow():
        raise Refused(PREVIEW_GONE.format(run=source.source_run_id))
    staged, data = loaded
    if (stored.synced_at if stored is not None else None) != staged.base_synced_at:
        assert stored is not None
        by = f"run {stored.synced_by_run_id}" if stored.synced_by_run_id is not None else "another write"
        raise Refused(WRITTEN_SINCE.format(by=by, run=source.source_run_id))
    keep = keep_previous(rt.settings, item.run_id)
    outcome = overwrite_customer(session, decode_snapshot(data), run_id=item.run_id, keep_previous=keep)
    return {"invoices": outcome.invoices, "payments": outcome.payments, "credit_notes": outcome.credit_notes}
