"""Preview and apply through the real jobs (both stacks): a preview fetches as a sync does and writes
nothing; its diff is exactly what changed on Workday; apply writes the staged snapshot without asking
Workday again, leaves out customers written since, and refuses an expired preview."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from kits.stack import Stack, without_fetched_at
from prometheus_client.parser import text_string_to_metric_families

from sync_engine.clock import utcnow
from sync_engine.domain import IdentifierType, RunKind, RunStatus
from sync_engine.metrics import exposition
from sync_engine.preview import WRITTEN_SINCE
from sync_engine.preview_diff import KindDiff
from sync_engine.preview_plan import PreviewRefusedError, plan_apply, preview_report
from sync_engine.restore_plan import plan_restore
from sync_engine.retention import drop_expired_previews
from sync_engine.store.models import StagedSnapshotRow

UNKNOWN = "f" * 32


def contents(stack: Stack, wids: list[str]) -> dict[str, Any]:
    return {wid: without_fetched_at(stack.stored(wid)) if stack.stored(wid) else None for wid in wids}


def preview(stack: Stack, identifiers: list[str]) -> int:
    run = stack.service.submit(IdentifierType.SOURCE_ID, identifiers, "cli:ana", kind=RunKind.PREVIEW)
    assert stack.wait(run.id).status is RunStatus.COMPLETED
    return run.id


@pytest.fixture
def previewed(stack: Stack) -> tuple[list[str], int]:
    """Three customers imported, then on Workday: the first gains two invoices, one invoice +25.50, one
    payment -100.00 and loses a payment; the second is unchanged; a fourth customer is new. Previewed."""
    data = stack.sandbox.data
    wids = [wid for wid in data.customer_wids[1:] if data.snapshot(wid).payments][:4]
    stack.run(IdentifierType.SOURCE_ID, wids[:3])
    first = data.snapshot(wids[0])
    data.add_invoice(wids[0], total_amount=Decimal("10.00"))
    data.add_invoice(wids[0], total_amount=Decimal("20.00"))
    data.update_document(
        first.invoices[0].wid, total_amount=first.invoices[0].total_amount + Decimal("25.50")
    )
    data.update_document(first.payments[0].wid, amount=first.payments[0].amount - Decimal("100.00"))
    if len(first.payments) > 1:
        data.delete_document(first.payments[1].wid)
    else:
        data.add_payment(wids[0], amount=Decimal("5.00"))
    return wids, preview(stack, [*wids, UNKNOWN])


def test_a_preview_writes_nothing_and_its_diff_is_exactly_what_changed(
    stack: Stack, previewed: tuple[list[str], int]
) -> None:
    wids, run_id = previewed
    data = stack.sandbox.data
    report = preview_report(stack.database, run_id)
    assert stack.stored(wids[3]) is None  # nothing written
    by_wid = {diff.customer_wid: diff for diff in report.customers}
    payments_of_first = data.snapshot(wids[0]).payments
    removed = 1 if len(payments_of_first) > 1 else 0
    added_payment = 1 - removed
    assert by_wid[wids[0]].kinds == {
        "invoices": KindDiff(new=2, changed=1, removed=0, amount_delta=Decimal("25.50")),
        "payments": KindDiff(new=added_payment, changed=1, removed=removed, amount_delta=Decimal("-100.00")),
        "credit_notes": KindDiff(),
    }
    assert by_wid[wids[1]].changes == 0 and by_wid[wids[2]].changes == 0
    fourth = data.snapshot(wids[3])
    assert by_wid[wids[3]].new_customer
    assert by_wid[wids[3]].kinds["invoices"].new == len(fourth.invoices)
    assert by_wid[wids[3]].kinds["payments"].new == len(fourth.payments)
    # The largest changes first; totals; the unresolved identifier.
    assert report.customers[0].changes == max(diff.changes for diff in report.customers)
    assert report.totals["invoices"].new == 2 + len(fourth.invoices)
    assert report.run.unresolved == [UNKNOWN]
    assert report.run.kind is RunKind.PREVIEW


def test_apply_writes_the_staged_snapshot_without_asking_workday(
    stack: Stack, previewed: tuple[list[str], int]
) -> None:
    wids, run_id = previewed
    seen = {wid: without_fetched_at(stack.sandbox.data.snapshot(wid)) for wid in wids}
    stack.sandbox.data.add_invoice(wids[1], total_amount=Decimal("1.00"))  # after the preview: not applied
    requests = stack.sandbox.stats.total()

    done = stack.wait(stack.service.submit_apply(plan_apply(stack.database, run_id), "cli:ana").id)

    assert done.status is RunStatus.COMPLETED, done.error
    assert stack.sandbox.stats.total() == requests
    assert contents(stack, wids) == seen
    assert (done.kind, done.source_run_id) == (RunKind.APPLY, run_id)


def test_a_customer_written_since_the_preview_is_left_out_and_listed(
    stack: Stack, previewed: tuple[list[str], int]
) -> None:
    wids, run_id = previewed
    seen = {wid: without_fetched_at(stack.sandbox.data.snapshot(wid)) for wid in wids}
    later = stack.run(IdentifierType.SOURCE_ID, [wids[0]])
    plan = plan_apply(stack.database, run_id)
    assert [diff.customer_wid for diff in plan.written_since] == [wids[0]]
    assert wids[0] not in plan.to_apply
    # A run writing a customer after the apply was planned wins too: left out, named in the error.
    stack.sandbox.data.add_invoice(wids[1], total_amount=Decimal("3.00"))
    racing = stack.run(IdentifierType.SOURCE_ID, [wids[1]])
    written = contents(stack, wids[:2])

    done = stack.wait(stack.service.submit_apply(plan, "cli:ana").id)

    assert done.status is RunStatus.ERROR and done.failed == [wids[1]]
    assert WRITTEN_SINCE.format(by=f"run {racing.id}", run=run_id) in (done.error or "")
    assert contents(stack, wids) == {**seen, **written}
    assert later.id != racing.id


def test_an_expired_preview_is_refused_and_its_staged_data_dropped(
    stack: Stack, previewed: tuple[list[str], int]
) -> None:
    wids, run_id = previewed
    before = contents(stack, wids)
    with stack.database.session() as session:
        session.execute(
            StagedSnapshotRow.__table__.update()
            .where(StagedSnapshotRow.run_id == run_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(PreviewRefusedError, match=f"Preview {run_id} expired"):
        plan_apply(stack.database, run_id)
    assert drop_expired_previews(stack.database) == len(wids)
    assert preview_report(stack.database, run_id).customers == []
    assert contents(stack, wids) == before


def _customers_and_documents() -> dict[str, float]:
    """This process's counts of customers by outcome and documents by type (the engine runs in it)."""
    samples = {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in text_string_to_metric_families(exposition().decode())
        for sample in family.samples
    }
    outcomes = ["staged", "applied", "restored", "failed"]
    counted = {name: samples.get(("workday_resync_customers_total", (name,)), 0.0) for name in outcomes}
    for kind in ["invoice", "payment", "credit_note"]:
        counted[kind] = samples.get(("workday_resync_documents_synced_total", (kind,)), 0.0)
    return counted


def _grown(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


def test_metrics_count_customers_staged_applied_and_restored_and_documents_only_when_written(
    stack: Stack,
) -> None:
    wids = stack.sandbox.data.customer_wids[:3]
    stack.run(IdentifierType.SOURCE_ID, wids)
    start = _customers_and_documents()

    run_id = preview(stack, wids)
    staged = _customers_and_documents()
    applied = stack.wait(stack.service.submit_apply(plan_apply(stack.database, run_id), "cli:ana").id)
    after_apply = _customers_and_documents()
    restore_plan = plan_restore(stack.database, applied.id, [], force=False)
    restored = stack.wait(stack.service.submit_restore(restore_plan, "cli:ana").id)
    after_restore = _customers_and_documents()

    assert _grown(start, staged) == {"staged": 3}  # a preview writes no document
    for run, before, after in [(applied, staged, after_apply), (restored, after_apply, after_restore)]:
        assert run.status is RunStatus.COMPLETED, run.error
        outcome = "applied" if run.kind is RunKind.APPLY else "restored"
        expected = {outcome: 3, "invoice": run.counts.invoices, "payment": run.counts.payments}
        expected["credit_note"] = run.counts.credit_notes
        assert _grown(before, after) == {name: value for name, value in expected.items() if value}
