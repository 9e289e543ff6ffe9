"""Per-customer results of a run (`RunService.results`, `results_csv`): the sandbox's truth, through a
real worker and store (SQLite and PostgreSQL+Redis), and the CSV's quoting and formula guard."""

from __future__ import annotations

import csv
import io

from kits.stack import Stack

from sync_engine.domain import IdentifierType, RunKind, RunStatus
from sync_engine.restore_plan import plan_restore
from sync_engine.results import CSV_HEADER, CustomerResult, results_csv
from sync_engine.run_errors import NOT_FOUND_ON_WORKDAY

REF = IdentifierType.REFERENCE


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_results_match_the_sandbox_customer_by_customer(stack: Stack) -> None:
    data = stack.sandbox.data
    customers = [c for c in data.customers[1:8] if c.customer_id and any(data.counts(c.wid))][:4]
    renamed, failing = customers[0], customers[3]
    # A Workday name that a spreadsheet would run as a formula, with a comma and quotes in it.
    data.update_customer(renamed.wid, name='=HYPERLINK("http://evil.example","Pay, now")')
    # Workday refuses this customer's payments to the integration user: it alone fails.
    stack.sandbox.knobs.hidden_payments_of = {failing.wid}
    unknown = ["C-404404", '"Quoted"-Zürich', "@SUM(A1)"]
    identifiers = [c.customer_id for c in customers if c.customer_id] + unknown

    run = stack.run(REF, identifiers)
    results = stack.service.results(run.id)

    assert run.status is RunStatus.ERROR and run.failed == [failing.customer_id]
    expected = []
    for customer in customers:
        name = data.customer(customer.wid).name
        if customer is failing:
            [result] = [r for r in results if r.workday_id == failing.wid]
            assert result.error  # Workday's refusal, as the run's error names it
            assert result.error in (run.error or "")
            expected.append(
                CustomerResult(customer.customer_id or "", failing.wid, name, "failed", 0, 0, 0, result.error)
            )
        else:
            invoices, payments, credit_notes = data.counts(customer.wid)
            expected.append(
                CustomerResult(
                    customer.customer_id or "",
                    customer.wid,
                    name,
                    "synced",
                    invoices,
                    payments,
                    credit_notes,
                    None,
                )
            )
    expected += [CustomerResult(i, None, None, "unresolved", 0, 0, 0, NOT_FOUND_ON_WORKDAY) for i in unknown]
    assert results == expected
    done = [r for r in results if r.outcome == "synced"]
    assert (len(done), sum(r.invoices for r in done), sum(r.payments for r in done)) == (
        run.counts.customers,
        run.counts.invoices,
        run.counts.payments,
    )
    assert sum(r.credit_notes for r in done) == run.counts.credit_notes

    # The CSV: the same rows, text cells that start a formula behind an apostrophe, the rest verbatim.
    rows = _rows(results_csv(results))
    assert rows[0] == list(CSV_HEADER)
    guarded = {"=", "@"}
    assert rows[1:] == [
        [
            ("'" + cell if cell[:1] in guarded else cell)
            for cell in (r.identifier, r.workday_id or "", r.name or "")
        ]
        + [r.outcome, str(r.invoices), str(r.payments), str(r.credit_notes), r.error or ""]
        for r in results
    ]
    assert rows[1][2] == '\'=HYPERLINK("http://evil.example","Pay, now")'
    assert rows[-1][0] == "'@SUM(A1)" and rows[-2][0] == '"Quoted"-Zürich'


def test_an_item_keeps_the_name_its_run_wrote(stack: Stack) -> None:
    data = stack.sandbox.data
    customer = next(c for c in data.customers[1:] if c.customer_id)
    first = stack.run(REF, [customer.customer_id or ""])
    old_name = data.customer(customer.wid).name
    data.update_customer(customer.wid, name="Renamed Since Inc.")
    second = stack.run(REF, [customer.customer_id or ""])

    assert [r.name for r in stack.service.results(first.id)] == [old_name]
    assert [r.name for r in stack.service.results(second.id)] == ["Renamed Since Inc."]


def test_a_preview_reads_previewed(stack: Stack) -> None:
    customer = next(c for c in stack.sandbox.data.customers[1:] if c.customer_id)
    run = stack.service.submit(REF, [customer.customer_id or "", "C-404404"], "U_TEST", kind=RunKind.PREVIEW)
    stack.wait(run.id)

    assert [r.outcome for r in stack.service.results(run.id)] == ["previewed", "unresolved"]


def test_a_restore_reads_restored_with_the_names_and_counts_it_put_back(stack: Stack) -> None:
    data = stack.sandbox.data
    customer = next(c for c in data.customers[1:] if c.customer_id and any(data.counts(c.wid)))
    first_name = data.customer(customer.wid).name
    stack.run(REF, [customer.customer_id or ""])
    counts = data.counts(customer.wid)
    data.update_customer(customer.wid, name="Renamed Since Inc.")
    data.add_invoice(customer.wid)
    second = stack.run(REF, [customer.customer_id or ""])

    restore = stack.service.submit_restore(plan_restore(stack.database, second.id), requested_by="cli:ana")
    stack.wait(restore.id)

    assert stack.service.results(restore.id) == [
        CustomerResult(customer.wid, customer.wid, first_name, "restored", *counts, None)
    ]


def test_every_cell_reads_back_as_it_was_except_formulas_get_an_apostrophe() -> None:
    tricky = [
        CustomerResult('a,b "c"\nd', "w1", 'Société Générale, "SA"', "synced", 1, 2, 3, None),
        CustomerResult("ü€😀", None, None, "unresolved", 0, 0, 0, "Not found on Workday"),
    ]
    formulas = ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"]
    injected = [CustomerResult(text, text, text, "failed", 0, 0, 0, text) for text in formulas]

    rows = _rows(results_csv([*tricky, *injected]))

    assert rows[1] == ['a,b "c"\nd', "w1", 'Société Générale, "SA"', "synced", "1", "2", "3", ""]
    assert rows[2] == ["ü€😀", "", "", "unresolved", "0", "0", "0", "Not found on Workday"]
    for row, text in zip(rows[3:], formulas, strict=True):
        assert row == ["'" + text, "'" + text, "'" + text, "failed", "0", "0", "0", "'" + text]
