"""The Workday client against shapes a real tenant may answer (issue 12), each behind a sandbox knob that
is off by default, over real sockets: amount shapes, zero adjustment totals, REST totals that do not add
up, order moving between pages, pages too big, 403 then ok, REST 404."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sync_engine.errors import WorkdayConfigurationError, WorkdayNotAuthorizedError
from sync_engine.records import CustomerSnapshot
from sync_engine.workday import RetryPolicy, WorkdayClient
from sync_engine.workday.sandbox import Sandbox, SandboxData

#: Retries that keep the suite fast: same logic, millisecond waits.
FAST_RETRY = RetryPolicy(attempts=6, initial_wait=0.01, max_wait=0.05)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxData.generate(customers=12, seed=7, big_customer_documents=250)) as running:
        yield running


def make_client(sandbox: Sandbox, **overrides: Any) -> WorkdayClient:
    settings = sandbox.workday_settings(**{"rate_limit": 1000.0, "timeout": 10.0, **overrides})
    return WorkdayClient(settings, retry=FAST_RETRY)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[WorkdayClient]:
    with make_client(sandbox) as created:
        yield created


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
