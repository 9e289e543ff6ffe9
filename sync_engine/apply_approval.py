"""An apply run above RESYNC_APPROVAL_ABOVE waits for a second admin exactly as a sync does
(`sync_engine.approval`): Apply must not let one admin overwrite more customers than a sync may alone.

It is held in the transaction that stores it (with the preview's decision), so no apply run is ever left
a draft. A preview's staged data lives only `RESYNC_PREVIEW_TTL` (an hour by default), far less than an
approval may take, so the snapshots the held apply writes are kept until its approval expires plus that
time again (for the approved run to do its work); what the approved apply writes is then exactly what
the preview fetched. A restore is an operator's action at the terminal: never held.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sync_engine.approval import APPROVAL_TTL, hold_in
from sync_engine.domain import RunKind
from sync_engine.preview_plan import ApplyPlan
from sync_engine.store import runs, staged_snapshots

__all__ = ["hold_or_receive_apply"]


def hold_or_receive_apply(session: Session, run_id: int, plan: ApplyPlan, above: int, now: datetime) -> bool:
    """In the transaction storing draft apply run `run_id`: hold it for approval when it writes more than
    `above` customers, keeping the staged snapshots it writes; else mark it received. True if held."""
    if hold_in(session, run_id, above, now):
        staged_snapshots.keep_staged(session, plan.preview_run_id, plan.to_apply, beyond=now + APPROVAL_TTL)
        return True
    runs.confirm_run(session, run_id, now, RunKind.APPLY)
    return False
