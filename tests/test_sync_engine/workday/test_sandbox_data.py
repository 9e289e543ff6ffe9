"""The sandbox's data set: determinism, spread, size and speed, the mutation API and the expectations."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from sync_engine.domain import CreditNote, Customer, Invoice, Payment
from sync_engine.workday.sandbox import SandboxData

EXPONENTS = {"USD": -2, "EUR": -2, "GBP": -2, "JPY": 0, "KWD": -3}


@pytest.fixture(scope="module")
def default_data() -> SandboxData:
    return SandboxData.generate()


def test_same_seed_gives_the_same_data_and_another_seed_does_not() -> None:
    first, second = SandboxData.generate(customers=40, seed=5), SandboxData.generate(customers=40, seed=5)

    assert first.customers == second.customers
    assert [first.counts(wid) for wid in first.customer_wids] == [
        second.counts(wid) for wid in second.customer_wids
    ]
    assert first.snapshot(first.big_customer_wid) == second.snapshot(second.big_customer_wid)
    assert set(SandboxData.generate(customers=40, seed=6).customer_wids).isdisjoint(first.customer_wids)


def test_customers_have_workday_shaped_identifiers_and_tricky_names(default_data: SandboxData) -> None:
    customers = default_data.customers

    assert len(customers) == 120
    assert all(len(c.wid) == 32 and c.wid == c.wid.lower() and int(c.wid, 16) >= 0 for c in customers)
    assert [c.customer_id for c in customers[:3]] == ["C-000001", "C-000002", "C-000003"]
    with_reference = [c.customer_reference_id for c in customers if c.customer_reference_id]
    assert 0.45 < len(with_reference) / len(customers) < 0.75
    assert all(ref.startswith("001") and len(ref) == 18 for ref in with_reference)
    names = {c.name for c in customers}
    assert {"Smith & Sons", '<Acme> "Intl"', "O'Brien Logistics", "Société Générale"} <= names
    assert {c.currency for c in customers} == set(EXPONENTS)
    assert {c.status for c in customers} <= {"Active", "Inactive", "On Hold"}


def test_documents_spread_like_a_real_tenant(default_data: SandboxData) -> None:
    counts = {wid: default_data.counts(wid) for wid in default_data.customer_wids}

    assert counts[default_data.big_customer_wid][0] == 1200
    assert sum(1 for c in counts.values() if c == (0, 0, 0)) >= 3
    assert any(invoices == 0 and payments > 0 for invoices, payments, _ in counts.values())
    assert len({sum(c) for c in counts.values()}) >= 2 and max(sum(c) for c in counts.values()) > 1000

    snapshots = [default_data.snapshot(wid) for wid in default_data.customer_wids]
    invoices = [invoice for s in snapshots for invoice in s.invoices]
    credit_notes = [note for s in snapshots for note in s.credit_notes]
    payments = [payment for s in snapshots for payment in s.payments]
    assert 0.06 < len(credit_notes) / len(invoices) < 0.14
    assert all(note.total_amount < 0 for note in credit_notes)
    assert sum(note.related_invoice_wid is not None for note in credit_notes) / len(credit_notes) > 0.7
    oldest = date.today() - timedelta(days=3 * 365 + 2)
    assert all(oldest <= invoice.invoice_date <= date.today() for invoice in invoices if invoice.invoice_date)
    for document in [*invoices, *credit_notes, *payments]:
        amount = document.amount if isinstance(document, Payment) else document.total_amount
        assert amount.as_tuple().exponent == EXPONENTS[document.currency]
    assert Decimal("123456789012.34") in {invoice.total_amount for invoice in invoices}


def test_benchmark_data_set_is_about_the_size_asked_fast_and_silent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.perf_counter()
    data = SandboxData.generate(customers=100, total_documents=20_000, big_customer_documents=5000)
    elapsed = time.perf_counter() - started

    total = sum(sum(data.counts(wid)) for wid in data.customer_wids)
    assert 19_000 <= total <= 21_000
    assert data.counts(data.big_customer_wid)[0] == 5000
    assert capsys.readouterr() == ("", "")
    # A figure, not an assertion: a loaded machine may take longer (about 0.3 s on a quiet one).
    print(f"\nBenchmark data set: {total:,} documents generated in {elapsed:.2f} s")


def test_mutations_show_in_the_expectations() -> None:
    data = SandboxData.generate(customers=12, seed=3)
    customer, other = data.customer_wids[1], data.customer_wids[2]
    before = data.counts(customer)

    invoice = data.add_invoice(customer, total_amount=Decimal("1200.1"), tax_amount=Decimal("200"))
    credit = data.add_credit_note(customer, total_amount=Decimal("-50"), related_invoice_wid=invoice)
    payment = data.add_payment(customer, amount=Decimal("99.5"), memo="<b>& co</b>")
    assert data.counts(customer) == (before[0] + 1, before[1] + 1, before[2] + 1)
    snapshot = data.snapshot(customer)
    added = next(i for i in snapshot.invoices if i.wid == invoice)
    assert isinstance(added, Invoice)
    assert (added.total_amount, added.tax_amount, added.invoice_status) == (
        Decimal("1200.10"),
        Decimal("200.00"),
        "Approved",
    )
    assert str(added.total_amount) == "1200.10"
    note = next(n for n in snapshot.credit_notes if n.wid == credit)
    assert isinstance(note, CreditNote) and note.related_invoice_wid == invoice
    paid = next(p for p in snapshot.payments if p.wid == payment)
    assert (paid.amount, paid.memo) == (Decimal("99.50"), "<b>& co</b>")
    assert snapshot.fetched_at == datetime(1970, 1, 1, tzinfo=UTC)

    data.update_document(invoice, total_amount=Decimal("10.00"), invoice_status="Canceled")
    updated = next(i for i in data.snapshot(customer).invoices if i.wid == invoice)
    assert (updated.total_amount, updated.invoice_status) == (Decimal("10.00"), "Canceled")

    data.move_document(payment, other)
    assert payment not in {p.wid for p in data.snapshot(customer).payments}
    assert payment in {p.wid for p in data.snapshot(other).payments}

    data.delete_document(credit)
    assert credit not in {n.wid for n in data.snapshot(customer).credit_notes}
    with pytest.raises(KeyError):
        data.update_document(credit, total_amount=Decimal(1))


def test_customer_updates_and_reference_lookups() -> None:
    data = SandboxData.generate(customers=12, seed=3)
    wid = data.customer_wids[4]

    data.update_customer(wid, name="Renamed & Co", customer_reference_id="001XYZ")

    renamed = data.customer(wid)
    assert isinstance(renamed, Customer) and renamed.name == "Renamed & Co"
    assert data.find_by_reference("001XYZ", "Customer_Reference_ID") == renamed
    assert data.find_by_reference(renamed.customer_id or "", "Customer_ID") == renamed
    assert data.find_by_reference(wid.upper(), "WID") == renamed
    assert data.find_by_reference("C-999999", "Customer_ID") is None
    assert data.find_by_reference(wid, "Salesforce_ID") is None
    assert data.customers[4] == renamed


def test_mutations_reject_what_workday_would_not_hold() -> None:
    data = SandboxData.generate(customers=12, seed=3)
    customer = data.customer_wids[1]

    with pytest.raises(TypeError):
        data.add_invoice(customer, no_such_field=1)
    with pytest.raises(ValueError, match="invoice status"):
        data.add_invoice(customer, invoice_status="Lost")
    with pytest.raises(ValueError, match="currency"):
        data.add_payment(customer, currency="XXX")
    with pytest.raises(ValueError, match="already belongs"):
        data.update_customer(customer, customer_id="C-000001")
    with pytest.raises(KeyError):
        data.add_invoice("0" * 32)


def test_a_moment_keeps_seeing_the_versions_of_its_time() -> None:
    data = SandboxData.generate(customers=12, seed=3)
    customer = data.customer_wids[1]
    invoice = data.add_invoice(customer, total_amount=Decimal("5.00"))
    pinned = data.moment()

    data.update_document(invoice, total_amount=Decimal("6.00"))
    added = data.add_payment(customer)
    data.delete_document(invoice)

    then = data.view(customer, pinned)
    assert then is not None
    assert next(d for d in then.documents if d.wid == invoice).total_amount == Decimal("5.00")
    assert added not in {p.wid for p in then.payments}
    now = data.view(customer, data.moment())
    assert now is not None and invoice not in {d.wid for d in now.documents}
    assert data.view(customer, datetime(2000, 1, 1, tzinfo=UTC)) is None
