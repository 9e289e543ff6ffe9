"""The Workday client against the Workday sandbox over real sockets: resolving, fetching, faults, limits."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from kits.workday import make_client

from devtools.bench.minimum import minimum_requests
from sync_engine.domain import Customer, CustomerSnapshot, IdentifierType
from sync_engine.errors import WorkdayNotFoundError
from sync_engine.workday import WorkdayClient
from sync_engine.workday.sandbox import Sandbox


def assert_snapshot(sandbox: Sandbox, snapshot: CustomerSnapshot) -> None:
    """Field by field against what the sandbox holds (fetched_at aside)."""
    expected = sandbox.data.snapshot(snapshot.customer.wid)
    assert snapshot.customer == expected.customer
    assert snapshot.invoices == expected.invoices
    assert snapshot.credit_notes == expected.credit_notes
    assert snapshot.payments == expected.payments
    # Equal Decimals can still differ in scale ("1200.1" vs "1200.10"): compare as written too.
    for fetched, wanted in zip(snapshot.invoices, expected.invoices, strict=True):
        assert (str(fetched.total_amount), str(fetched.due_amount)) == (
            str(wanted.total_amount),
            str(wanted.due_amount),
        )
    for fetched_payment, wanted_payment in zip(snapshot.payments, expected.payments, strict=True):
        assert str(fetched_payment.amount) == str(wanted_payment.amount)


def documents(sandbox: Sandbox, wid: str) -> tuple[int, int]:
    invoices, payments, credit_notes = sandbox.data.counts(wid)
    return invoices + credit_notes, payments


# --- resolving --------------------------------------------------------------------------------------


def test_resolves_references_in_one_call_keyed_as_given(sandbox: Sandbox, client: WorkdayClient) -> None:
    customers = sandbox.data.customers
    identifiers = [c.customer_id or "" for c in reversed(customers)]

    resolution = client.resolve_customers(identifiers, IdentifierType.REFERENCE)

    assert list(resolution.found) == identifiers
    assert resolution.found == {c.customer_id: c for c in reversed(customers)}
    assert resolution.unresolved == []
    assert sandbox.stats.count("Get_Customers") == 1
    [entry] = [e for e in sandbox.stats.log if e.operation == "Get_Customers"]
    assert entry.references == {("Customer_ID", c.customer_id) for c in customers}


def test_resolves_wids_whatever_their_case(sandbox: Sandbox, client: WorkdayClient) -> None:
    customers = sandbox.data.customers[:5]
    identifiers = [c.wid.upper() if i % 2 else c.wid for i, c in enumerate(customers)]

    resolution = client.resolve_customers(identifiers, IdentifierType.SOURCE_ID)

    assert resolution.found == dict(zip(identifiers, customers, strict=True))
    [entry] = [e for e in sandbox.stats.log if e.operation == "Get_Customers"]
    assert {id_type for id_type, _ in entry.references} == {"WID"}


def test_reference_id_type_comes_from_the_settings(sandbox: Sandbox) -> None:
    customers = [c for c in sandbox.data.customers if c.customer_reference_id]
    identifiers = [c.customer_reference_id or "" for c in customers]

    with make_client(sandbox, reference_id_type="Customer_Reference_ID") as client:
        resolution = client.resolve_customers(identifiers, IdentifierType.REFERENCE)

    assert resolution.found == dict(zip(identifiers, customers, strict=True))
    [entry] = [e for e in sandbox.stats.log if e.operation == "Get_Customers"]
    assert {id_type for id_type, _ in entry.references} == {"Customer_Reference_ID"}


def test_invalid_references_are_reported_and_never_sent_twice(
    sandbox: Sandbox, client: WorkdayClient
) -> None:
    customers = sandbox.data.customers
    invalid = ["NOPE-1", "C-999999", "nope & <more>"]
    identifiers = (
        [c.customer_id or "" for c in customers[:4]]
        + invalid[:2]
        + [c.customer_id or "" for c in customers[4:]]
    )
    identifiers.insert(7, invalid[2])

    resolution = client.resolve_customers(identifiers, IdentifierType.REFERENCE)

    assert resolution.unresolved == [invalid[0], invalid[1], invalid[2]]
    assert resolution.found == {c.customer_id: c for c in customers}
    assert list(resolution.found) == [i for i in identifiers if i not in invalid]
    # One call names the invalid ones, one more gets the rest: never the same set twice.
    calls = [e.references for e in sandbox.stats.log if e.operation == "Get_Customers"]
    assert len(calls) == 2
    assert [e.outcome for e in sandbox.stats.log if e.operation == "Get_Customers"] == [
        "fault",
        "ok",
    ]
    assert not {("Customer_ID", value) for value in invalid} & calls[1]
    assert client.request_counts["Get_Customers"] == 2


def test_only_invalid_references_take_one_call(sandbox: Sandbox, client: WorkdayClient) -> None:
    resolution = client.resolve_customers(["X-1", "X-2", "X-3"], IdentifierType.REFERENCE)

    assert resolution.found == {}
    assert resolution.unresolved == ["X-1", "X-2", "X-3"]
    assert sandbox.stats.count("Get_Customers") == 1


def test_invalid_wids_are_reported(sandbox: Sandbox, client: WorkdayClient) -> None:
    known = sandbox.data.customers[0]
    identifiers = ["0" * 32, known.wid, "not-a-wid"]

    resolution = client.resolve_customers(identifiers, IdentifierType.SOURCE_ID)

    assert resolution.found == {known.wid: known}
    assert resolution.unresolved == ["0" * 32, "not-a-wid"]
    assert sandbox.stats.count("Get_Customers") == 2


def test_duplicates_and_empty_input(sandbox: Sandbox, client: WorkdayClient) -> None:
    first = sandbox.data.customers[0]

    assert client.resolve_customers([], IdentifierType.REFERENCE).found == {}
    assert sandbox.stats.total() == 0
    resolution = client.resolve_customers(
        [first.customer_id or "", first.customer_id or ""], IdentifierType.REFERENCE
    )
    assert resolution.found == {first.customer_id: first}
    [entry] = [e for e in sandbox.stats.log if e.operation == "Get_Customers"]
    assert len(entry.references) == 1


def test_xml_special_characters_in_identifiers_and_names(sandbox: Sandbox, client: WorkdayClient) -> None:
    victim, other = sandbox.data.customers[2], sandbox.data.customers[3]
    nasty_id = "C&<1>]]>'\""
    sandbox.data.update_customer(victim.wid, customer_id=nasty_id, name='Smith & <Sons> ]]> "Ltd"')
    # An injection attempt naming another customer's WID must stay one (invalid) Customer_ID.
    injection = f'X</wd:ID><wd:ID wd:type="WID">{other.wid}'

    resolution = client.resolve_customers([nasty_id, injection], IdentifierType.REFERENCE)

    assert resolution.found == {nasty_id: sandbox.data.customer(victim.wid)}
    assert resolution.found[nasty_id].name == 'Smith & <Sons> ]]> "Ltd"'
    assert resolution.unresolved == [injection]
    first = next(e for e in sandbox.stats.log if e.operation == "Get_Customers")
    assert first.references == {("Customer_ID", nasty_id), ("Customer_ID", injection)}


# --- fetching ---------------------------------------------------------------------------------------


def test_fetch_returns_exactly_what_workday_holds(sandbox: Sandbox, client: WorkdayClient) -> None:
    started = datetime.now(UTC)
    for customer in sandbox.data.customers:
        snapshot = client.fetch_customer(customer)
        assert_snapshot(sandbox, snapshot)
        assert started <= snapshot.fetched_at <= datetime.now(UTC)
        assert snapshot.fetched_at.tzinfo is UTC
    counts = [documents(sandbox, c.wid) for c in sandbox.data.customers]
    assert sandbox.stats.total() == minimum_requests(0, counts)


def test_many_pages_of_both_kinds(sandbox: Sandbox, client: WorkdayClient) -> None:
    wid = sandbox.data.big_customer_wid
    for _ in range(1000 - sandbox.data.counts(wid)[1]):
        sandbox.data.add_payment(wid)
    receivables, payments = documents(sandbox, wid)
    assert receivables > 200 and payments > 999

    snapshot = client.fetch_customer(sandbox.data.customer(wid))

    assert_snapshot(sandbox, snapshot)
    assert client.request_counts["invoices"] == -(-receivables // 100)
    assert client.request_counts["Get_Customer_Payments"] == 2
    # Page 2 is pinned to the moment page 1 was served.
    details = [e.detail for e in sandbox.stats.log if e.operation == "Get_Customer_Payments"]
    assert len(details) == 2
    assert len({datetime.fromisoformat(detail.partition("as_of=")[2]) for detail in details}) == 1


def test_pages_stay_consistent_while_payments_are_entered(sandbox: Sandbox) -> None:
    wid = sandbox.data.big_customer_wid
    for _ in range(1000 - sandbox.data.counts(wid)[1]):
        sandbox.data.add_payment(wid)
    expected = sandbox.data.snapshot(wid).payments
    sandbox.knobs.slow_page_seconds = 1.0
    with make_client(sandbox) as client, ThreadPoolExecutor(1) as background:
        fetching = background.submit(client.fetch_customer, sandbox.data.customer(wid))
        # Entered while page 1 is on its way: after its snapshot moment, so invisible to page 2 as well
        # (unpinned, page 2 would hold one payment more than page 1 announced).
        time.sleep(0.4)
        sandbox.data.add_payment(wid, amount=Decimal("7.77"))
        snapshot = fetching.result(timeout=30)

    assert snapshot.payments == expected


def test_invoices_changing_between_pages_are_read_again(sandbox: Sandbox) -> None:
    wid = sandbox.data.big_customer_wid
    victim = sandbox.data.snapshot(wid).invoices[0].wid
    sandbox.knobs.latency = 0.4
    with make_client(sandbox) as client, ThreadPoolExecutor(1) as background:
        fetching = background.submit(client.fetch_customer, sandbox.data.customer(wid))
        deadline = time.monotonic() + 10
        while sandbox.stats.count("invoices") == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        # Page 1 is out; pages 2.. are held by the latency and will see one invoice fewer: the first read
        # does not add up, the second (the list no longer changing) does.
        sandbox.data.delete_document(victim)
        snapshot = fetching.result(timeout=30)

    assert_snapshot(sandbox, snapshot)
    assert victim not in {invoice.wid for invoice in snapshot.invoices}
    receivables = documents(sandbox, wid)[0]
    assert client.request_counts["invoices"] == -(-(receivables + 1) // 100) + -(-receivables // 100)


def test_decimal_precision_is_kept_exactly(sandbox: Sandbox, client: WorkdayClient) -> None:
    wid = next(c.wid for c in sandbox.data.customers if c.currency == "USD")
    invoice = sandbox.data.add_invoice(
        wid,
        total_amount=Decimal("123456789012.10"),
        tax_amount=Decimal("0.01"),
        due_amount=Decimal("1200.10"),
    )
    sandbox.data.add_credit_note(
        wid, total_amount=Decimal("-1000.00"), due_amount=Decimal("-0.10"), related_invoice_wid=invoice
    )
    sandbox.data.add_payment(wid, amount=Decimal("99999999999.99"))

    snapshot = client.fetch_customer(sandbox.data.customer(wid))

    assert_snapshot(sandbox, snapshot)
    fetched = next(i for i in snapshot.invoices if i.wid == invoice)
    assert (str(fetched.total_amount), str(fetched.tax_amount), str(fetched.due_amount)) == (
        "123456789012.10",
        "0.01",
        "1200.10",
    )
    note = next(n for n in snapshot.credit_notes if n.related_invoice_wid == invoice)
    assert (str(note.total_amount), str(note.due_amount)) == ("-1000.00", "-0.10")
    assert "99999999999.99" in {str(p.amount) for p in snapshot.payments}


def test_a_customer_without_documents(sandbox: Sandbox, client: WorkdayClient) -> None:
    wid = next(c.wid for c in sandbox.data.customers if sandbox.data.counts(c.wid) == (0, 0, 0))
    snapshot = client.fetch_customer(sandbox.data.customer(wid))
    assert (snapshot.invoices, snapshot.credit_notes, snapshot.payments) == ([], [], [])
    assert client.request_counts == {"token": 1, "invoices": 1, "Get_Customer_Payments": 1}


def test_an_unknown_customer_is_not_found(sandbox: Sandbox, client: WorkdayClient) -> None:
    ghost = Customer("f" * 32, "C-GHOST", None, "Ghost", "USD", "Active", None)
    with pytest.raises(WorkdayNotFoundError, match="f" * 32):
        client.fetch_customer(ghost)
    assert client.request_counts["Get_Customer_Payments"] == 1


def test_one_client_shared_by_many_threads(sandbox: Sandbox) -> None:
    sandbox.knobs.latency = 0.01
    customers = sandbox.data.customers
    with make_client(sandbox, max_in_flight=3) as client, ThreadPoolExecutor(8) as workers:
        snapshots = list(workers.map(client.fetch_customer, customers))

    for snapshot in snapshots:
        assert_snapshot(sandbox, snapshot)
    assert sandbox.max_in_flight_seen <= 3
    assert client.request_counts["token"] == 1


def test_in_flight_cap_and_rate_are_respected(sandbox: Sandbox) -> None:
    # The sandbox throttles anything above 40/s; the client is held to 40/s and 3 in flight.
    sandbox.knobs.rate_limit = 40
    sandbox.knobs.latency = 0.1
    wid = sandbox.data.big_customer_wid
    receivables, _ = documents(sandbox, wid)
    with make_client(sandbox, max_in_flight=3, rate_limit=40.0) as client:
        started = time.monotonic()
        assert_snapshot(sandbox, client.fetch_customer(sandbox.data.customer(wid)))
        elapsed = time.monotonic() - started

    requests = sandbox.stats.total()
    assert requests == 1 + -(-receivables // 100) + 1
    assert sandbox.stats.count(outcome="throttled") == 0
    assert 2 <= sandbox.max_in_flight_seen <= 3  # the pipe was kept full, within the cap
    assert elapsed >= (requests - 1) / 40 * 0.9  # evenly spaced (a lower bound only)
