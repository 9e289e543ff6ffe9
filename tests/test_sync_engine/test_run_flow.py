"""Batch runs end to end: sandbox over sockets, a real worker and store (SQLite and PostgreSQL+Redis)."""

from __future__ import annotations

import math
import threading
from decimal import Decimal

from kits.stack import Stack, assert_store_matches_workday, expected_counts, without_fetched_at
from sqlalchemy import func, select

from sync_engine import jobs
from sync_engine.domain import IdentifierType, RunCounts, RunStatus
from sync_engine.run_errors import NOTHING_RESOLVED
from sync_engine.store.models import BatchRunRow
from sync_engine.sync import LARGE_CUSTOMER_DOCUMENTS
from sync_engine.workday.sandbox import SandboxData

REF = IdentifierType.REFERENCE
SRC = IdentifierType.SOURCE_ID


def test_a_run_imports_each_customer_with_all_its_documents(stack: Stack) -> None:
    customers = stack.sandbox.data.customers[:6]  # includes the customer with over a thousand invoices
    wids = [customer.wid for customer in customers]

    run = stack.run(SRC, [wid.upper() for wid in wids])

    assert run.status is RunStatus.COMPLETED, run.error
    assert run.counts == expected_counts(stack.sandbox.data, wids)
    assert run.counts.invoices > 1000
    assert run.unresolved == [] and run.error is None
    assert run.started_at is not None and run.finished_at is not None
    assert_store_matches_workday(stack.database, stack.sandbox.data, wids)


def test_a_second_run_applies_changes_deletions_and_additions(stack: Stack) -> None:
    data = stack.sandbox.data
    customer = next(c for c in data.customers if all(data.counts(c.wid)))
    first = stack.run(REF, [customer.customer_id])
    assert first.status is RunStatus.COMPLETED, first.error
    before = data.snapshot(customer.wid)

    changed = before.invoices[0]
    data.update_document(changed.wid, total_amount=Decimal("98765.43"))
    data.delete_document(before.payments[0].wid)
    data.delete_document(before.credit_notes[0].wid)
    added = data.add_invoice(customer.wid)

    second = stack.run(REF, [customer.customer_id])

    assert second.status is RunStatus.COMPLETED, second.error
    stored = stack.stored(customer.wid)
    assert stored is not None
    assert without_fetched_at(stored) == without_fetched_at(data.snapshot(customer.wid))
    by_wid = {invoice.wid: invoice for invoice in stored.invoices}
    assert by_wid[changed.wid].total_amount == Decimal("98765.43")
    assert added in by_wid
    assert before.payments[0].wid not in {payment.wid for payment in stored.payments}
    assert before.credit_notes[0].wid not in {note.wid for note in stored.credit_notes}
    assert second.counts == expected_counts(stack.sandbox.data, [customer.wid])


def test_unresolved_identifiers_are_listed_and_the_rest_completes(stack: Stack) -> None:
    customers = stack.sandbox.data.customers[1:4]
    identifiers = [customers[0].customer_id, "C-404404", customers[1].customer_id, "<nope&co>"]

    run = stack.run(REF, [i for i in identifiers if i])

    assert run.status is RunStatus.COMPLETED, run.error
    assert run.unresolved == ["C-404404", "<nope&co>"]
    assert run.counts == expected_counts(stack.sandbox.data, [customers[0].wid, customers[1].wid])


def test_nothing_resolved_ends_in_error_with_the_exact_message(stack: Stack) -> None:
    run = stack.run(REF, ["C-404404", "C-505505"])

    assert run.status is RunStatus.ERROR
    assert run.error == NOTHING_RESOLVED
    assert run.counts == RunCounts()


def test_a_fetch_failing_midway_leaves_the_customer_exactly_as_it_was(stack: Stack) -> None:
    data = stack.sandbox.data
    customer = next(c for c in data.customers if data.counts(c.wid)[0] > 150)  # several invoice pages
    assert stack.run(SRC, [customer.wid]).status is RunStatus.COMPLETED
    old = without_fetched_at(stack.stored(customer.wid))
    data.update_document(data.snapshot(customer.wid).invoices[0].wid, total_amount=Decimal("1.00"))
    data.add_payment(customer.wid)

    # Invoices fetch fine, every payments call is throttled until the retries run out.
    stack.sandbox.knobs.soap_500_rate = 1.0
    run = stack.run(SRC, [customer.wid])

    assert run.status is RunStatus.ERROR
    assert run.error is not None and customer.wid in run.error
    assert run.failed == [customer.wid]
    assert without_fetched_at(stack.stored(customer.wid)) == old


def test_a_redelivered_message_changes_nothing_and_asks_workday_nothing(stack: Stack) -> None:
    customers = stack.sandbox.data.customers[2:5]
    run = stack.run(SRC, [c.wid for c in customers])
    assert run.status is RunStatus.COMPLETED
    stored = [without_fetched_at(stack.stored(c.wid)) for c in customers]
    requests_before = stack.sandbox.stats.total()

    with stack.database.session() as session:
        from sqlalchemy import select

        from sync_engine.store.models import RunItemRow

        item_ids = list(session.scalars(select(RunItemRow.id).where(RunItemRow.run_id == run.id)))
    for item_id in item_ids:
        jobs.sync_customer.send(item_id)
    jobs.start_run.send(run.id)
    stack.drain()

    again = stack.service.get(run.id)
    assert again.counts == run.counts and again.status is RunStatus.COMPLETED
    assert again.finished_at == run.finished_at
    assert stack.sandbox.stats.total() == requests_before
    assert [without_fetched_at(stack.stored(c.wid)) for c in customers] == stored


def test_two_runs_sharing_customers_both_complete_with_exact_data(stack: Stack) -> None:
    customers = stack.sandbox.data.customers[5:12]
    first_ids = [c.wid for c in customers[:5]]
    second_ids = [c.wid for c in customers[2:]]

    first = stack.service.submit(SRC, first_ids, requested_by="U1")
    second = stack.service.submit(SRC, second_ids, requested_by="U2")
    first_done, second_done = stack.wait(first.id), stack.wait(second.id)

    assert first_done.status is second_done.status is RunStatus.COMPLETED
    assert first_done.counts == expected_counts(stack.sandbox.data, first_ids)
    assert second_done.counts == expected_counts(stack.sandbox.data, second_ids)
    assert_store_matches_workday(stack.database, stack.sandbox.data, [c.wid for c in customers])


def test_history_lists_confirmed_runs_most_recent_first_and_records_keep_paste_order(stack: Stack) -> None:
    customers = stack.sandbox.data.customers[:3]
    draft = stack.service.create_draft(REF, [customers[0].customer_id], "U1")
    older = stack.run(REF, [customers[2].customer_id, customers[1].customer_id])
    newer = stack.run(REF, [customers[0].customer_id])

    history = stack.service.history(limit=10)

    assert [run.id for run in history] == [newer.id, older.id]
    assert draft.id not in [run.id for run in history]
    assert stack.service.records_text(older.id) == f"{customers[2].customer_id}\n{customers[1].customer_id}\n"


def test_confirming_twice_queues_one_run(stack: Stack) -> None:
    customer = stack.sandbox.data.customers[3]
    draft = stack.service.create_draft(REF, [customer.customer_id], "U1")
    assert draft.status is RunStatus.DRAFT

    _, first_click = stack.service.confirm(draft.id)
    _, second_click = stack.service.confirm(draft.id)

    assert (first_click, second_click) == (True, False)
    assert stack.wait(draft.id).status is RunStatus.COMPLETED
    assert stack.sandbox.stats.by_operation()["Get_Customers"] == 1


def test_a_repeated_draft_request_stores_one_run_even_when_the_copies_arrive_at_once(stack: Stack) -> None:
    wanted = [customer.customer_id for customer in stack.sandbox.data.customers[:2]]
    start = threading.Barrier(6)
    made: list[int] = []
    fresh: list[bool] = []

    def submit() -> None:
        start.wait()
        run, stored = stack.service.create_draft_once("view-1:hash-1", REF, wanted, "U1", slack_channel="C1")
        made.append(run.id)
        fresh.append(stored)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(made) == 6 and len(set(made)) == 1 and sorted(fresh) == [False] * 5 + [True]
    stack.service.confirm(made[0])
    again, stored = stack.service.create_draft_once("view-1:hash-1", REF, wanted, "U1", slack_channel="C1")
    assert again.id == made[0] and not stored
    assert again.status is not RunStatus.DRAFT  # the stored run, as it is now
    others = [
        stack.service.create_draft_once("view-1:hash-1", REF, wanted[:1], "U1", slack_channel="C1")[0],
        stack.service.create_draft_once("view-1:hash-1", REF, wanted, "U2", slack_channel="C1")[0],
        stack.service.create_draft_once("view-1:hash-1", REF, wanted, "U1", slack_channel="C2")[0],
        stack.service.create_draft_once("view-1:hash-2", REF, wanted, "U1", slack_channel="C1")[0],
        stack.service.create_draft(REF, wanted, "U1", slack_channel="C1"),
        stack.service.create_draft(REF, wanted, "U1", slack_channel="C1"),
    ]
    assert len({run.id for run in others} | {made[0]}) == 7  # any difference is a new request
    with stack.database.session() as session:
        assert session.scalar(select(func.count()).select_from(BatchRunRow)) == 7


def _receivables(data: SandboxData, wids: list[str]) -> int:
    return sum(data.counts(wid)[0] + data.counts(wid)[2] for wid in wids)


def _invoice_lists(stack: Stack) -> list[str]:
    """The customers each invoices request named (`billToCustomer=w1,w2,…`), in the sandbox's log."""
    return [e.detail.split(" ")[0] for e in stack.sandbox.stats.log if e.operation == "invoices"]


def test_a_run_fetches_its_customers_together_and_a_customer_known_large_alone(stack: Stack) -> None:
    data = stack.sandbox.data
    wids = data.customer_wids
    big = data.big_customer_wid
    assert _receivables(data, [big]) >= LARGE_CUSTOMER_DOCUMENTS
    payments = sum(data.counts(wid)[1] for wid in wids)

    first = stack.run(SRC, wids)

    assert first.status is RunStatus.COMPLETED, first.error
    assert first.counts == expected_counts(data, wids)
    assert_store_matches_workday(stack.database, data, wids)
    # One group: every request named all 30 customers, and the pages were full but the last.
    assert set(_invoice_lists(stack)) == {f"billToCustomer={','.join(wids)}"}
    assert stack.sandbox.stats.by_operation()["invoices"] == math.ceil(_receivables(data, wids) / 100)
    assert stack.sandbox.stats.by_operation()["Get_Customer_Payments"] == math.ceil(payments / 999)

    # The store now knows the big customer: the next run fetches it alone, the others together.
    stack.sandbox.stats.reset()
    second = stack.run(SRC, wids)

    assert second.status is RunStatus.COMPLETED, second.error
    assert second.counts == first.counts
    rest = [wid for wid in wids if wid != big]
    assert set(_invoice_lists(stack)) == {f"billToCustomer={big}", f"billToCustomer={','.join(rest)}"}
    assert stack.sandbox.stats.by_operation()["invoices"] == math.ceil(
        _receivables(data, [big]) / 100
    ) + math.ceil(_receivables(data, rest) / 100)


def test_a_group_workday_refuses_is_fetched_again_customer_by_customer(stack: Stack) -> None:
    data = stack.sandbox.data
    # Every 40th document of a list is counted but never shown: a list of 40 or more never adds up.
    stack.sandbox.knobs.rest_invisible_every = 40
    small = [wid for wid in data.customer_wids if 0 < _receivables(data, [wid]) < 40][:4]
    larger = next(wid for wid in data.customer_wids if 40 <= _receivables(data, [wid]) < 200)
    wids = [*small, larger]
    assert len(small) == 4 and _receivables(data, wids) >= 40

    run = stack.run(SRC, wids)

    # Only the customer whose own list does not add up failed; the others synced, exactly.
    assert run.status is RunStatus.ERROR
    assert run.error is not None and larger in run.error and not any(wid in run.error for wid in small)
    assert run.counts == expected_counts(data, small)
    assert_store_matches_workday(stack.database, data, small)
    # The group was asked for first (all five in one list), then each customer alone.
    lists = _invoice_lists(stack)
    assert lists[0] == f"billToCustomer={','.join(wids)}"
    assert {f"billToCustomer={wid}" for wid in wids} <= set(lists)


def test_a_customer_left_without_documents_in_a_group_gets_an_empty_ledger(stack: Stack) -> None:
    data = stack.sandbox.data
    wids = [wid for wid in data.customer_wids[1:] if all(data.counts(wid))][:5]
    emptied = wids[2]
    first = stack.run(SRC, wids)
    assert first.status is RunStatus.COMPLETED, first.error
    stored = stack.stored(emptied)
    assert stored is not None and stored.invoices and stored.payments and stored.credit_notes
    before = data.snapshot(emptied)
    for document in [*before.invoices, *before.credit_notes, *before.payments]:
        data.delete_document(document.wid)
    stack.sandbox.stats.reset()

    second = stack.run(SRC, wids)

    assert second.status is RunStatus.COMPLETED, second.error
    # Fetched with the others, in the same requests; written with nothing: every old document deleted.
    assert set(_invoice_lists(stack)) == {f"billToCustomer={','.join(wids)}"}
    stored = stack.stored(emptied)
    assert stored is not None and (stored.invoices, stored.credit_notes, stored.payments) == ([], [], [])
    assert second.counts == expected_counts(data, wids)
    assert_store_matches_workday(stack.database, data, wids)
