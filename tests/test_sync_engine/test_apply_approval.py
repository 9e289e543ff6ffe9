"""An apply of a preview above RESYNC_APPROVAL_ABOVE waits for a second admin exactly as a sync does: its
requester cannot approve it; another admin's approval writes what the preview fetched (not what Workday
holds since), with no Workday request, even once the preview's own time to live has passed. At the
setting it runs at once. Both stacks (SQLite + embedded worker, PostgreSQL + Redis + Dramatiq)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from kits.stack import Stack, without_fetched_at

from sync_engine import jobs
from sync_engine.approval import APPROVAL_TTL, ApprovalRefusedError, Refusal
from sync_engine.clock import utcnow
from sync_engine.domain import IdentifierType, RunKind, RunStatus
from sync_engine.retention import drop_expired_previews
from sync_engine.service import RunService

ABOVE = 2


def approving(stack: Stack) -> RunService:
    """The stack's engine with RESYNC_APPROVAL_ABOVE=2, as `open_engine` builds it from the settings."""
    return RunService(stack.database, jobs.DramatiqDispatcher(), stack.rt.events, approval_above=ABOVE)


def previewed(stack: Stack, service: RunService, count: int) -> tuple[int, list[str], dict[str, Any]]:
    """A finished preview of `count` customers none stored: (its id, the wids, what it fetched)."""
    wids = stack.sandbox.data.customer_wids[1 : 1 + count]
    run = service.submit(IdentifierType.SOURCE_ID, wids, "U_ANA", kind=RunKind.PREVIEW)
    assert run.status is RunStatus.RECEIVED  # a preview writes nothing: never held
    assert stack.wait(run.id).status is RunStatus.COMPLETED
    return run.id, wids, {wid: without_fetched_at(stack.sandbox.data.snapshot(wid)) for wid in wids}


def stored(stack: Stack, wids: list[str]) -> dict[str, Any]:
    return {wid: without_fetched_at(snapshot) if (snapshot := stack.stored(wid)) else None for wid in wids}


def test_an_apply_above_the_setting_waits_then_another_admin_approves_the_previewed_data(
    stack: Stack,
) -> None:
    service = approving(stack)
    preview_id, wids, fetched = previewed(stack, service, ABOVE + 1)
    stack.sandbox.data.add_invoice(wids[0], total_amount=Decimal("1.00"))  # on Workday after the preview
    requests = stack.sandbox.stats.total()

    outcome = service.previews().apply(preview_id, "U_ANA", slack_channel=None)

    apply_id = outcome.decision.apply_run_id
    assert outcome.decided_now and apply_id is not None
    held = service.get(apply_id)
    assert (held.kind, held.status) == (RunKind.APPLY, RunStatus.PENDING_APPROVAL)
    assert held.approval is not None and held.approval.expires_at - held.approval.held_at == APPROVAL_TTL
    assert service.previews().view(preview_id).apply_awaits_approval
    stack.drain()  # nothing was queued
    assert stored(stack, wids) == dict.fromkeys(wids)
    with pytest.raises(ApprovalRefusedError, match=f"You requested run {apply_id}") as refused:
        service.approvals().approve(apply_id, "U_ANA")
    assert refused.value.reason is Refusal.OWN_RUN
    assert service.get(apply_id).status is RunStatus.PENDING_APPROVAL

    # The preview's own time to live passes before anyone approves; the clean-up keeps what the apply writes.
    later = utcnow() + timedelta(seconds=stack.settings.resync_preview_ttl + 60)
    drop_expired_previews(stack.database, later)
    service.approvals().approve(apply_id, "U_OLGA")

    done = stack.wait(apply_id)
    assert done.status is RunStatus.COMPLETED, done.error
    assert done.approval is not None and done.approval.decided_by == "U_OLGA"
    assert stored(stack, wids) == fetched
    assert stack.sandbox.stats.total() == requests  # no Workday request
    assert not service.previews().view(preview_id).apply_awaits_approval


def test_an_apply_at_the_setting_runs_at_once(stack: Stack) -> None:
    service = approving(stack)
    preview_id, wids, fetched = previewed(stack, service, ABOVE)

    outcome = service.previews().apply(preview_id, "U_ANA", slack_channel=None)

    assert outcome.decision.apply_run_id is not None
    done = stack.wait(outcome.decision.apply_run_id)
    assert done.status is RunStatus.COMPLETED and done.approval is None
    assert stored(stack, wids) == fetched
