"""Which work an item's job does, by its run's kind: fetch and write (sync), fetch and stage (preview),
write the staged snapshot (apply), put back a previous copy (restore)."""

from __future__ import annotations

from sync_engine import preview, restore, sync
from sync_engine.domain import RunKind
from sync_engine.runtime import Runtime
from sync_engine.store import items

__all__ = ["work_item"]


def work_item(rt: Runtime, item_id: int, *, final_attempt: bool) -> None:
    with rt.database.session() as session:
        kind = items.run_kind_of_item(session, item_id)
    if kind is RunKind.RESTORE:
        restore.restore_item(rt, item_id, final_attempt=final_attempt)
    elif kind is RunKind.APPLY:
        preview.apply_item(rt, item_id, final_attempt=final_attempt)
    elif kind is RunKind.PREVIEW:
        sync.sync_item(rt, item_id, final_attempt=final_attempt, write=preview.stage_snapshot)
    else:
        sync.sync_item(rt, item_id, final_attempt=final_attempt)
