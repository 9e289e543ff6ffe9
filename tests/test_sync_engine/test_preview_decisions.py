"""A preview is decided once, in the store (both stacks): of an apply and a discard at the same moment,
from two threads, exactly one wins and the other finds it; an unfinished or expired preview is refused
and nothing is recorded."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from kits.stack import Stack

from sync_engine.clock import utcnow
from sync_engine.domain import IdentifierType, RunKind, RunStatus
from sync_engine.preview_decisions import PreviewAction, PreviewExpiredError
from sync_engine.store.models import StagedSnapshotRow


def previewed(stack: Stack) -> int:
    wids = stack.sandbox.data.customer_wids[1:4]
    run = stack.service.submit(IdentifierType.SOURCE_ID, wids, "cli:ana", kind=RunKind.PREVIEW)
    assert stack.wait(run.id).status is RunStatus.COMPLETED
    return run.id


def decide_at_once(stack: Stack, run_id: int) -> list[Any]:
    """Apply (by ana) and discard (by olga) started at the same moment; what each call answered."""
    previews = stack.service.previews()
    outcomes: list[Any] = []
    start = threading.Barrier(2)

    def apply() -> None:
        start.wait()
        outcomes.append(previews.apply(run_id, "U_ANA", slack_channel=None).decision)

    def discard() -> None:
        start.wait()
        outcomes.append(previews.discard(run_id, "U_OLGA")[0])

    threads = [threading.Thread(target=apply), threading.Thread(target=discard)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_apply_and_discard_at_once_decide_once(stack: Stack) -> None:
    for _ in range(3):
        run_id = previewed(stack)

        outcomes = decide_at_once(stack, run_id)

        previews = stack.service.previews()
        decision = previews.decision(run_id)
        assert decision is not None and outcomes == [decision, decision]
        applies = [run for run in stack.service.history(limit=100) if run.source_run_id == run_id]
        if decision.action is PreviewAction.APPLY:
            assert [run.id for run in applies] == [decision.apply_run_id]
            stack.wait(applies[0].id)
        else:
            assert applies == [] and previews.view(run_id).report.customers == []


def test_an_expired_preview_is_refused_and_nothing_is_recorded(stack: Stack) -> None:
    run_id = previewed(stack)
    with stack.database.session() as session:
        session.execute(
            StagedSnapshotRow.__table__.update()
            .where(StagedSnapshotRow.run_id == run_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    previews = stack.service.previews()

    with pytest.raises(PreviewExpiredError) as apply_refused:
        previews.apply(run_id, "U_ANA", slack_channel=None)
    with pytest.raises(PreviewExpiredError):
        previews.discard(run_id, "U_ANA")

    assert apply_refused.value.expired_at is not None and apply_refused.value.expired_at < utcnow()
    assert previews.decision(run_id) is None
    assert [run for run in stack.service.history(limit=100) if run.kind is RunKind.APPLY] == []
