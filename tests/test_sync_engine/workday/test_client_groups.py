"""Many customers per request: a group's documents come in shared pages and are split back by customer,
each customer handed over only complete. The real client over sockets against the sandbox."""

from __future__ import annotations

import math

import httpx
import pytest
from kits.workday import make_client

from devtools.bench.minimum import batched_minimum_requests
from sync_engine.domain import CustomerSnapshot, IdentifierType
from sync_engine.workday import WorkdayClient
from sync_engine.workday.client import CUSTOMERS_PER_GROUP, MAX_URL_BYTES
from sync_engine.workday.group_fetch import SPLIT_PAGES
from sync_engine.workday.sandbox import Sandbox, SandboxData


@pytest.fixture
def sandbox_data() -> SandboxData:
    """20 customers, 1,200 documents, the largest with 120 invoices."""
    return SandboxData.generate(customers=20, seed=5, big_customer_documents=120, total_documents=1_200)


def fetch(client: WorkdayClient, wids: list[str], sandbox: Sandbox) -> list[CustomerSnapshot]:
    """The snapshots in the order they were handed over; each customer once."""
    handed: list[CustomerSnapshot] = []
    client.fetch_customers([sandbox.data.customer(wid) for wid in wids], handed.append)
    assert sorted(snapshot.customer.wid for snapshot in handed) == sorted(wids)
    return handed


def assert_each_is_its_own(sandbox: Sandbox, snapshots: list[CustomerSnapshot]) -> None:
    for snapshot in snapshots:
        expected = sandbox.data.snapshot(snapshot.customer.wid)
        assert snapshot.customer == sandbox.data.customer(snapshot.customer.wid)
        assert sorted(snapshot.invoices, key=lambda d: d.wid) == sorted(
            expected.invoices, key=lambda d: d.wid
        )
        assert sorted(snapshot.credit_notes, key=lambda d: d.wid) == sorted(
            expected.credit_notes, key=lambda d: d.wid
        )
        assert sorted(snapshot.payments, key=lambda d: d.wid) == sorted(
            expected.payments, key=lambda d: d.wid
        )


def receivables_and_payments(sandbox: Sandbox, wids: list[str]) -> tuple[int, int]:
    counts = [sandbox.data.counts(wid) for wid in wids]
    return sum(i + c for i, _, c in counts), sum(p for _, p, _ in counts)


@pytest.mark.parametrize("interleaved", [False, True], ids=["customer by customer", "interleaved"])
def test_a_group_is_split_back_by_customer_in_shared_pages(sandbox: Sandbox, interleaved: bool) -> None:
    sandbox.knobs.interleave_customers = interleaved
    data = sandbox.data
    empty = data.customer_wids[7]
    for document in data.snapshot(empty).invoices + data.snapshot(empty).credit_notes:
        data.delete_document(document.wid)
    for payment in data.snapshot(empty).payments:
        data.delete_document(payment.wid)
    assert data.counts(empty) == (0, 0, 0)
    wids = data.customer_wids
    receivables, payments = receivables_and_payments(sandbox, wids)
    assert receivables > 20 * 10 and payments > 20 * 5  # many pages, most holding several customers

    with make_client(sandbox, invoices_page_size=10, payments_page_size=5) as client:
        client.refresh_token()
        snapshots = fetch(client, wids, sandbox)
        counts = client.request_counts

    # Every document with its own customer, none with another; the one without any gets an empty ledger.
    assert_each_is_its_own(sandbox, snapshots)
    [nothing] = [snapshot for snapshot in snapshots if snapshot.customer.wid == empty]
    assert (nothing.invoices, nothing.credit_notes, nothing.payments) == ([], [], [])
    # One list and one payments query for the whole group, each in full pages.
    assert counts["invoices"] == math.ceil(receivables / 10)
    assert counts["Get_Customer_Payments"] == math.ceil(payments / 5)
    for entry in sandbox.stats.log:
        if entry.operation == "invoices":
            assert entry.detail.startswith(f"billToCustomer={','.join(wids)} ")
        if entry.operation == "Get_Customer_Payments":
            assert entry.references == frozenset(("WID", wid) for wid in wids)


def list_pages(sandbox: Sandbox, wids: list[str], page: int) -> int:
    """Requests of the invoice lists of a group: a list of several customers holding more than
    `SPLIT_PAGES` pages costs its first page and is read as two lists of half the customers each."""
    receivables, _ = receivables_and_payments(sandbox, wids)
    if len(wids) > 1 and receivables > SPLIT_PAGES * page:
        middle = len(wids) // 2
        return 1 + list_pages(sandbox, wids[:middle], page) + list_pages(sandbox, wids[middle:], page)
    return max(1, math.ceil(receivables / page))


def test_a_customer_with_thousands_of_documents_does_not_hold_back_the_small_ones() -> None:
    # 12 customers; the first with 1,000 invoices and 100 credit notes, the others a few dozen each.
    data = SandboxData.generate(customers=12, seed=3, big_customer_documents=1_000, total_documents=2_000)
    page = 10
    with Sandbox(data) as sandbox:
        big = data.big_customer_wid
        wids = data.customer_wids
        assert data.counts(big)[0] + data.counts(big)[2] > SPLIT_PAGES * page
        with make_client(sandbox, invoices_page_size=page) as client:
            client.refresh_token()
            snapshots = fetch(client, wids, sandbox)
            made = client.request_counts["invoices"]

        assert_each_is_its_own(sandbox, snapshots)
        # Every small customer was handed over before the big one: none waited for its 110 pages.
        assert snapshots[-1].customer.wid == big
        # Its list was read alone in the end; each split cost one abandoned first page.
        alone = [
            entry
            for entry in sandbox.stats.log
            if entry.operation == "invoices" and entry.detail.startswith(f"billToCustomer={big} ")
        ]
        assert len(alone) == math.ceil((data.counts(big)[0] + data.counts(big)[2]) / page)
        assert made == list_pages(sandbox, wids, page)
        receivables, _ = receivables_and_payments(sandbox, wids)
        assert made <= math.ceil(receivables / page) * 1.05


def test_a_payers_payments_come_with_its_subsidiaries_in_or_out_of_their_group(sandbox: Sandbox) -> None:
    [(parent, first, second)] = sandbox.data.shape_payers(1)
    with make_client(sandbox) as client:
        apart = fetch(client, [first, second], sandbox)
        assert client.request_counts["Get_Customer_Payments"] == 1
        together = fetch(client, [parent, first, second], sandbox)
        assert client.request_counts["Get_Customer_Payments"] == 2

    assert_each_is_its_own(sandbox, apart + together)
    remitters = [e.references for e in sandbox.stats.log if e.operation == "Get_Customer_Payments"]
    # The payer named once, whether it is one of the group or only pays for it.
    assert remitters == [frozenset(("WID", w) for w in (first, second, parent))] * 2


def test_fifty_customers_per_request_keep_the_url_well_under_8_kb(sandbox: Sandbox) -> None:
    wids = [f"{n:032x}" for n in range(CUSTOMERS_PER_GROUP)]
    with make_client(sandbox) as client:
        assert client.customers_per_group == CUSTOMERS_PER_GROUP
        url = httpx.URL(f"{sandbox.base_url}/ccx/api/customerAccounts/v1/{sandbox.tenant}/invoices")
        full = url.copy_with(
            params=[("billToCustomer", w) for w in wids] + [("limit", "100"), ("offset", "99900")]
        )
        assert len(str(full)) < MAX_URL_BYTES // 1.5
    # A base URL long enough that 50 would not fit: fewer customers per request, the URL within the budget.
    long_base = sandbox.base_url + "/" + "x" * 2_500
    with make_client(sandbox, base_url=long_base) as client:
        size = client.customers_per_group
        full = httpx.URL(f"{long_base}/ccx/api/customerAccounts/v1/{sandbox.tenant}/invoices").copy_with(
            params=[("billToCustomer", w) for w in wids[:size]] + [("limit", "100"), ("offset", "99900")]
        )
    assert 1 <= size < CUSTOMERS_PER_GROUP and len(str(full)) <= MAX_URL_BYTES


def test_a_batch_in_groups_takes_the_batched_minimum(sandbox: Sandbox) -> None:
    wids = [customer.wid for customer in sandbox.data.customers]
    receivables, payments = receivables_and_payments(sandbox, wids)
    with make_client(sandbox) as client:
        resolution = client.resolve_customers(wids, IdentifierType.SOURCE_ID)
        fetch(client, [c.wid for c in resolution.found.values()], sandbox)
        made = sum(client.request_counts.values())
    assert made == batched_minimum_requests(len(wids), receivables, payments)
