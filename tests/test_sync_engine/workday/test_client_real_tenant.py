"""The Workday client against shapes a real tenant may answer (issue 12), each behind a sandbox knob that
is off by default, over real sockets: amount shapes, zero adjustment totals, REST totals that do not add
up, order moving between pages, pages too big, 403 then ok, REST 404."""

from __future__ import annotations

import httpx
import pytest
from kits.workday import make_client

from sync_engine.domain import CustomerSnapshot
from sync_engine.errors import WorkdayConfigurationError, WorkdayNotAuthorizedError, WorkdayPermanentError
from sync_engine.workday import WorkdayClient
from sync_engine.workday.sandbox import Sandbox
from sync_engine.workday.soap_requests import build_get_customer_payments


def assert_receivables(sandbox: Sandbox, snapshot: CustomerSnapshot) -> None:
    """Invoices and credit notes equal the sandbox's field by field, amounts as written (same scale)."""
    expected = sandbox.data.snapshot(snapshot.customer.wid)
    assert snapshot.invoices == expected.invoices
    assert snapshot.credit_notes == expected.credit_notes
    written = [(str(i.total_amount), str(i.tax_amount), str(i.due_amount)) for i in snapshot.invoices]
    assert written == [(str(i.total_amount), str(i.tax_amount), str(i.due_amount)) for i in expected.invoices]
    notes = [(str(n.total_amount), str(n.due_amount)) for n in snapshot.credit_notes]
    assert notes == [(str(n.total_amount), str(n.due_amount)) for n in expected.credit_notes]


def customers_with_credit_notes(sandbox: Sandbox) -> list[str]:
    return [c.wid for c in sandbox.data.customers if sandbox.data.counts(c.wid)[2] > 0]


# --- 1. amounts in every shape the specs allow ---------------------------------------------------------


@pytest.mark.parametrize("shape", ["number", "string", "reference", "mixed"])
def test_amounts_in_every_shape_are_stored_exactly(
    sandbox: Sandbox, client: WorkdayClient, shape: str
) -> None:
    sandbox.knobs.amount_shape = shape
    for customer in sandbox.data.customers:
        assert_receivables(sandbox, client.fetch_customer(customer))


def test_the_currency_is_taken_from_the_amounts_when_the_document_has_none(
    sandbox: Sandbox, client: WorkdayClient
) -> None:
    sandbox.knobs.amount_shape = "reference"
    sandbox.knobs.document_currency = False
    currencies = {c.currency for c in sandbox.data.customers if sum(sandbox.data.counts(c.wid)[::2])}
    assert len(currencies) > 1
    for customer in sandbox.data.customers:
        assert_receivables(sandbox, client.fetch_customer(customer))


# --- 2. adjustments whose totalAmount is zero ----------------------------------------------------------


def test_adjustments_with_a_zero_total_are_stored_with_their_real_amount(
    sandbox: Sandbox, client: WorkdayClient
) -> None:
    sandbox.knobs.zero_adjustment_totals = True
    sandbox.knobs.amount_shape = "mixed"
    wids = customers_with_credit_notes(sandbox)
    assert wids
    for wid in wids:
        snapshot = client.fetch_customer(sandbox.data.customer(wid))
        assert_receivables(sandbox, snapshot)
        assert all(note.total_amount != 0 for note in snapshot.credit_notes)


# --- 8. HTTP statuses -----------------------------------------------------------------------------------


def test_a_403_for_a_token_minted_before_a_scope_change_is_refreshed_once(
    sandbox: Sandbox, client: WorkdayClient
) -> None:
    wid = sandbox.data.big_customer_wid
    client.fetch_customer(sandbox.data.customer(wid))
    sandbox.knobs.stale_token_scopes = True

    snapshot = client.fetch_customer(sandbox.data.customer(wid))

    assert_receivables(sandbox, snapshot)
    assert client.request_counts["token"] == 2
    assert sandbox.stats.count("invoices", "unauthorized") == 1


def test_a_403_a_fresh_token_also_gets_is_a_missing_permission(
    sandbox: Sandbox, client: WorkdayClient
) -> None:
    sandbox.knobs.unauthorized_operations = {"invoices"}

    with pytest.raises(WorkdayNotAuthorizedError, match="not authorized for invoices"):
        client.fetch_customer(sandbox.data.customer(sandbox.data.big_customer_wid))

    assert (client.request_counts["token"], sandbox.stats.count("invoices", "unauthorized")) == (2, 2)


def test_a_rest_404_names_the_resource_not_found(sandbox: Sandbox, client: WorkdayClient) -> None:
    sandbox.knobs.rest_service_disabled = True

    with pytest.raises(WorkdayConfigurationError) as raised:
        client.fetch_customer(sandbox.data.customer(sandbox.data.big_customer_wid))

    message = str(raised.value)
    assert f"no resource /ccx/api/customerAccounts/v1/{sandbox.tenant}/invoices" in message
    assert "Customer Accounts REST API may not be enabled" in message
    assert "Workday said: Resource not found." in message
    assert sandbox.stats.count("invoices") == 1


# --- 5. REST paging without a snapshot ------------------------------------------------------------------


def test_a_list_whose_order_moved_between_pages_is_read_again(
    sandbox: Sandbox, client: WorkdayClient
) -> None:
    wid = sandbox.data.big_customer_wid
    receivables = sum(sandbox.data.counts(wid)[::2])
    assert receivables > 200
    sandbox.knobs.rest_order_moves = 1

    snapshot = client.fetch_customer(sandbox.data.customer(wid))

    assert_receivables(sandbox, snapshot)
    assert client.request_counts["invoices"] == 2 * -(-receivables // 100)


def test_a_list_whose_order_keeps_moving_fails_the_customer_after_three_reads(
    sandbox: Sandbox, client: WorkdayClient
) -> None:
    wid = sandbox.data.big_customer_wid
    receivables = sum(sandbox.data.counts(wid)[::2])
    sandbox.knobs.rest_order_moves = 1000

    with pytest.raises(WorkdayPermanentError) as raised:
        client.fetch_customer(sandbox.data.customer(wid))

    message = str(raised.value)
    assert f"customer {wid} did not add up in 3 reads" in message
    assert "so the order moved between pages" in message
    assert client.request_counts["invoices"] == 3 * -(-receivables // 100)


def test_a_total_counting_documents_not_returned_fails_the_customer_saying_so(
    sandbox: Sandbox, client: WorkdayClient
) -> None:
    wid = sandbox.data.big_customer_wid
    receivables = sum(sandbox.data.counts(wid)[::2])
    sandbox.knobs.rest_invisible_every = 50

    with pytest.raises(WorkdayPermanentError) as raised:
        client.fetch_customer(sandbox.data.customer(wid))

    message = str(raised.value)
    returned = receivables - receivables // 50
    assert f"Workday counted {receivables} but its pages held {returned} distinct documents" in message
    assert "grant it access to them" in message
    assert client.request_counts["invoices"] == 3 * -(-receivables // 100)
    # Other customers are not affected by a customer that never adds up.
    small = next(c for c in sandbox.data.customers if 0 < sum(sandbox.data.counts(c.wid)[::2]) < 50)
    assert_receivables(sandbox, client.fetch_customer(small))


# --- 9. pages too big for Workday -----------------------------------------------------------------------


#: A moment after the sandbox's data was entered: the whole data set as of then.
AS_OF = "2100-01-01T00:00:00.000000+00:00"


def body_bytes(sandbox: Sandbox, operation: str, wid: str, size: int) -> int:
    """Bytes of page 1 of the customer's invoices or payments at this page size, as the sandbox sends it."""
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as http:
        token = http.post(
            f"/ccx/oauth2/{sandbox.tenant}/token",
            data={"grant_type": "refresh_token", "refresh_token": sandbox.refresh_token},
            auth=(sandbox.client_id, sandbox.client_secret),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        if operation == "invoices":
            params = {"billToCustomer": wid, "limit": size, "offset": 0}
            response = http.get(
                f"/ccx/api/customerAccounts/v1/{sandbox.tenant}/invoices", params=params, headers=headers
            )
        else:
            response = http.post(
                f"/ccx/service/{sandbox.tenant}/Revenue_Management/v45.2",
                content=build_get_customer_payments([wid], "v45.2", page=1, count=size, as_of_entry=AS_OF),
                headers={**headers, "Content-Type": "text/xml; charset=utf-8"},
            )
    assert response.status_code == 200
    return len(response.content)


def test_invoice_pages_workday_breaks_off_are_halved_for_the_rest_of_the_run(sandbox: Sandbox) -> None:
    wid = sandbox.data.big_customer_wid
    receivables = sum(sandbox.data.counts(wid)[::2])
    # A page of 50 invoices fits, one of 100 does not.
    half, full = body_bytes(sandbox, "invoices", wid, 50), body_bytes(sandbox, "invoices", wid, 100)
    sandbox.knobs.max_response_bytes = (half + full) // 2
    sandbox.stats.reset()

    with make_client(sandbox) as client:
        first = client.fetch_customer(sandbox.data.customer(wid))
        assert_receivables(sandbox, first)
        assert first.payments == sandbox.data.snapshot(wid).payments
        # One page broken off, then every page at half the size.
        assert sandbox.stats.count("invoices", "too_large") == 1
        assert client.request_counts["invoices"] == 1 + -(-receivables // 50)

        sandbox.stats.reset()
        again = client.fetch_customer(sandbox.data.customer(wid))
    assert (again.invoices, again.credit_notes) == (first.invoices, first.credit_notes)
    assert sandbox.stats.count("invoices", "too_large") == 0
    assert sandbox.stats.count("invoices") == -(-receivables // 50)


def test_payment_pages_workday_breaks_off_are_halved_for_the_rest_of_the_run(sandbox: Sandbox) -> None:
    wid = sandbox.data.big_customer_wid
    for _ in range(1000 - sandbox.data.counts(wid)[1]):
        sandbox.data.add_payment(wid)
    # A page of 499 payments fits, one of 999 does not.
    half, full = body_bytes(sandbox, "payments", wid, 499), body_bytes(sandbox, "payments", wid, 999)
    sandbox.knobs.max_response_bytes = (half + full) // 2
    sandbox.stats.reset()

    with make_client(sandbox) as client:
        first = client.fetch_customer(sandbox.data.customer(wid))
        assert first.payments == sandbox.data.snapshot(wid).payments
        assert_receivables(sandbox, first)
        assert sandbox.stats.count("Get_Customer_Payments", "too_large") == 1
        # Page 1 of 999 broken off; pages 1 to 3 of 499.
        assert client.request_counts["Get_Customer_Payments"] == 1 + 3

        sandbox.stats.reset()
        again = client.fetch_customer(sandbox.data.customer(wid))
    assert again.payments == first.payments
    assert sandbox.stats.count("Get_Customer_Payments") == 3
    assert sandbox.stats.count(outcome="too_large") == 0
