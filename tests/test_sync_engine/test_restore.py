"""Restore: a run's previous copies put back, each customer atomically, through the real jobs (both stacks);
customers a later run overwrote since are refused unless forced; the restore is a run of its own kind."""

from __future__ import annotations

from typing import Any

import pytest
from kits.changes import change_on_workday
from kits.stack import Stack, without_fetched_at
from sqlalchemy import select

from sync_engine import jobs
from sync_engine.domain import BatchRun, IdentifierType, RunCounts, RunKind, RunStatus
from sync_engine.errors import RunNotFoundError
from sync_engine.restore import OVERWRITTEN_SINCE
from sync_engine.restore_plan import RestoreRefusedError, plan_restore
from sync_engine.store.models import RunItemRow


def contents(stack: Stack, wids: list[str]) -> dict[str, Any]:
    return {wid: without_fetched_at(stack.stored(wid)) for wid in wids}


def counts_of(content: dict[str, Any]) -> RunCounts:
    return RunCounts(
        customers=len(content),
        invoices=sum(len(value[1]) for value in content.values()),
        credit_notes=sum(len(value[2]) for value in content.values()),
        payments=sum(len(value[3]) for value in content.values()),
    )


def restore(stack: Stack, run_id: int, *customers: str, force: bool = False) -> BatchRun:
    plan = plan_restore(stack.database, run_id, customers, force=force)
    run = stack.service.submit_restore(plan, requested_by="cli:ana")
    return stack.wait(run.id)


@pytest.fixture
def synced_twice(stack: Stack) -> tuple[list[str], dict[str, Any], BatchRun]:
    """Four customers imported, changed on Workday, synced again: (wids, the first content, second run)."""
    wids = stack.sandbox.data.customer_wids[:4]
    assert stack.run(IdentifierType.SOURCE_ID, wids).status is RunStatus.COMPLETED
    before = contents(stack, wids)
    for wid in wids:
        change_on_workday(stack.sandbox.data, wid, "V2")
    second = stack.run(IdentifierType.SOURCE_ID, wids)
    assert second.status is RunStatus.COMPLETED
    assert contents(stack, wids) != before
    return wids, before, second


def test_restoring_a_run_puts_back_every_customer_as_it_was(
    stack: Stack, synced_twice: tuple[list[str], dict[str, Any], BatchRun]
) -> None:
    wids, before, second = synced_twice
    requests = stack.sandbox.stats.total()

    done = restore(stack, second.id)

    assert done.status is RunStatus.COMPLETED, done.error
    assert contents(stack, wids) == before
    assert stack.sandbox.stats.total() == requests  # Workday is not asked
    # History: a run of its own kind, with counts, requester and the run it restored.
    assert done.kind is RunKind.RESTORE and done.source_run_id == second.id
    assert done.requested_by == "cli:ana"
    assert done.counts == counts_of(before)
    assert stack.service.history(limit=1)[0].id == done.id


def test_restoring_one_customer_leaves_the_others_as_they_are(
    stack: Stack, synced_twice: tuple[list[str], dict[str, Any], BatchRun]
) -> None:
    wids, before, second = synced_twice
    after = contents(stack, wids)
    chosen = stack.sandbox.data.customer(wids[1]).customer_id
    assert chosen is not None

    done = restore(stack, second.id, chosen)

    assert done.status is RunStatus.COMPLETED, done.error
    assert done.identifiers == [wids[1]]
    assert contents(stack, wids) == {**after, wids[1]: before[wids[1]]}


def test_a_customer_a_later_run_overwrote_is_refused_unless_forced(
    stack: Stack, synced_twice: tuple[list[str], dict[str, Any], BatchRun]
) -> None:
    wids, before, second = synced_twice
    change_on_workday(stack.sandbox.data, wids[0], "V3")
    later = stack.run(IdentifierType.SOURCE_ID, [wids[0]])
    third = contents(stack, [wids[0]])

    plan = plan_restore(stack.database, second.id)
    assert [kept.customer_wid for kept in plan.overwritten_since] == [wids[0]]
    assert plan.overwritten_since[0].stored_by_run_id == later.id
    done = stack.wait(stack.service.submit_restore(plan, requested_by="cli:ana").id)
    assert done.status is RunStatus.COMPLETED, done.error
    assert contents(stack, wids) == {**before, **third}  # the later run's customer left alone

    forced = restore(stack, second.id, wids[0], force=True)
    assert forced.status is RunStatus.COMPLETED, forced.error
    assert contents(stack, wids) == before


def test_a_run_writing_a_customer_after_the_restore_was_planned_wins(
    stack: Stack, synced_twice: tuple[list[str], dict[str, Any], BatchRun]
) -> None:
    wids, before, second = synced_twice
    plan = plan_restore(stack.database, second.id)
    assert not plan.overwritten_since
    change_on_workday(stack.sandbox.data, wids[2], "V3")
    later = stack.run(IdentifierType.SOURCE_ID, [wids[2]])
    newest = contents(stack, [wids[2]])

    done = stack.wait(stack.service.submit_restore(plan, requested_by="cli:ana").id)

    assert done.status is RunStatus.ERROR
    assert done.failed == [wids[2]]
    assert OVERWRITTEN_SINCE.format(run=second.id, by=f"run {later.id}") in (done.error or "")
    assert contents(stack, wids) == {**before, **newest}


def test_a_restore_can_itself_be_restored(
    stack: Stack, synced_twice: tuple[list[str], dict[str, Any], BatchRun]
) -> None:
    wids, _, second = synced_twice
    after = contents(stack, wids)
    undo = restore(stack, second.id)
    assert restore(stack, undo.id).status is RunStatus.COMPLETED
    assert contents(stack, wids) == after


def test_restoring_a_first_import_removes_the_customers(stack: Stack) -> None:
    wids = stack.sandbox.data.customer_wids[:2]
    first = stack.run(IdentifierType.SOURCE_ID, wids)
    done = restore(stack, first.id)
    assert done.status is RunStatus.COMPLETED, done.error
    assert [stack.stored(wid) for wid in wids] == [None, None]


def test_bad_restores_are_refused_naming_why_and_change_nothing(
    stack: Stack, synced_twice: tuple[list[str], dict[str, Any], BatchRun]
) -> None:
    wids, _, second = synced_twice
    after = contents(stack, wids)
    runs_before = len(stack.service.history(limit=100))

    with pytest.raises(RunNotFoundError, match="There is no batch run 999"):
        plan_restore(stack.database, 999)
    with pytest.raises(RestoreRefusedError, match=r"Run \d+ kept no previous copy of: 'C-NOPE'"):
        plan_restore(stack.database, second.id, ["C-NOPE"])
    stack.rt.settings = stack.settings.model_copy(update={"resync_keep_previous_days": 0})
    unkept = stack.run(IdentifierType.SOURCE_ID, wids)
    with pytest.raises(RestoreRefusedError, match=f"Run {unkept.id} has no previous copies kept"):
        plan_restore(stack.database, unkept.id)

    assert contents(stack, wids) == after
    assert len(stack.service.history(limit=100)) == runs_before + 1  # only the run without copies


def test_a_restore_message_delivered_again_changes_nothing(
    stack: Stack, synced_twice: tuple[list[str], dict[str, Any], BatchRun]
) -> None:
    wids, before, second = synced_twice
    done = restore(stack, second.id)
    change_on_workday(stack.sandbox.data, wids[0], "V3")
    later = stack.run(IdentifierType.SOURCE_ID, [wids[0]])
    now = contents(stack, wids)
    with stack.database.session() as session:
        item_ids = session.scalars(select(RunItemRow.id).where(RunItemRow.run_id == done.id)).all()

    for item_id in item_ids:  # as Dramatiq may deliver it again (at least once)
        jobs.DramatiqDispatcher().sync_customers([item_id])
    stack.drain()

    assert contents(stack, wids) == now  # the later run's write stays; nothing put back twice
    assert stack.service.get(done.id).counts == done.counts
    assert now[wids[0]] != before[wids[0]] and later.status is RunStatus.COMPLETED
