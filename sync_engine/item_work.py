"""Which work an item's job does, by its run's kind: fetch and write (sync), fetch and stage (preview),
write the staged snapshot (apply), put back a previous copy (restore)."""

from __future__ import annotations

from collections.abc import Sequence

from sync_engine import preview, restore, sync
from sync_engine.domain import RunKind
from sync_engine.runtime import Runtime
from sync_engine.store import items

__all__ = ["work_items"]


def work_items(rt: Runtime, item_ids: Sequence[int], *, final_attempt: bool) -> list[list[int]]:
    """Work a group of one run's items; returns the groups to send again (`sync.sync_group`). Syncs and
    previews fetch the group together; restores and applies touch only the store, item by item."""
    if not item_ids:
        return []
    with rt.database.session() as session:
        kind = items.run_kind_of_item(session, item_ids[0])
    if kind is RunKind.RESTORE:
        for item_id in item_ids:
            restore.restore_item(rt, item_id, final_attempt=final_attempt)
        return []
    if kind is RunKind.APPLY:
        for item_id in item_ids:
            preview.apply_item(rt, item_id, final_attempt=final_attempt)
        return []
    if kind is RunKind.PREVIEW:
        return sync.sync_group(
            rt, item_ids, final_attempt=final_attempt, write=preview.stage_snapshot, outcome="staged"
        )
    return sync.sync_group(rt, item_ids, final_attempt=final_attempt)
