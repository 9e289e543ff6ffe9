"""Shapes a real tenant may answer in that the sandbox does not by default, each behind a knob: payments a
payer made, no Response_Filter echo, references matched ignoring case in another order, faults worded in
another language, transient processing faults. The real client, over sockets."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from kits.workday import make_client

from sync_engine.domain import Customer, IdentifierType
from sync_engine.errors import (
    WorkdayConfigurationError,
    WorkdayNotAuthorizedError,
    WorkdayNotFoundError,
)
from sync_engine.workday import RetryPolicy, WorkdayClient
from sync_engine.workday.sandbox import Sandbox

REF = IdentifierType.REFERENCE


def payment_wids(sandbox: Sandbox, client: WorkdayClient, wid: str) -> list[str]:
    snapshot = client.fetch_customer(sandbox.data.customer(wid))
    assert snapshot.payments == sandbox.data.snapshot(wid).payments
    return [payment.wid for payment in snapshot.payments]


# --- payments a customer did not remit itself (knob: shape_payers) ---------------------------------


def test_a_payment_belongs_to_one_customer_whoever_remitted_it(sandbox: Sandbox) -> None:
    data = sandbox.data
    [(parent, first, second)] = data.shape_payers(1)
    parent_view = data.view(parent, data.moment())
    second_view = data.view(second, data.moment())
    assert parent_view is not None and second_view is not None
    [for_first, split] = [p.wid for p in parent_view.payments if p.remittance]
    [unremitted] = [p.wid for p in second_view.payments if not p.remit_from]

    with make_client(sandbox) as client:
        first_customer = client.resolve_customers([data.customer(first).customer_id or ""], REF)
        assert next(iter(first_customer.found.values())).payer_wid == parent
        held = {wid: payment_wids(sandbox, client, wid) for wid in (parent, first, second)}

    # The parent paid one invoice of its subsidiary: the subsidiary's payment, not the parent's.
    assert for_first in held[first] and for_first not in held[parent]
    # Split over both subsidiaries: it stays whole with the parent who remitted it.
    assert split in held[parent] and split not in held[first] + held[second]
    # Recorded without a remit-from customer: nobody's (Workday cannot list it by customer).
    assert unremitted not in held[parent] + held[first] + held[second]
    every = [wid for wids in held.values() for wid in wids]
    assert len(every) == len(set(every))  # no payment counted twice


def test_a_payers_payments_come_in_the_same_request_as_its_subsidiarys(sandbox: Sandbox) -> None:
    [(parent, first, second)] = sandbox.data.shape_payers(1)
    with make_client(sandbox) as client:
        for wid in (first, second):
            payment_wids(sandbox, client, wid)
        # Each subsidiary's own payments and its parent's in one query (Remit-from 0..n): one page each.
        assert client.request_counts["Get_Customer_Payments"] == 2
        payment_wids(sandbox, client, parent)
        assert client.request_counts["Get_Customer_Payments"] == 3
    subsidiary_pages = [e.references for e in sandbox.stats.log if e.operation == "Get_Customer_Payments"][:2]
    assert all(("WID", parent) in references and len(references) == 2 for references in subsidiary_pages)


# --- pin the snapshot ourselves (knobs: omit_response_filter, require_as_of_on_pages) --------------


def test_every_payments_page_is_pinned_to_our_moment_without_an_echo(sandbox: Sandbox) -> None:
    sandbox.knobs.omit_response_filter = True
    sandbox.knobs.require_as_of_on_pages = True
    # Each response waits, so a payment can be entered while page 1 is on its way.
    sandbox.knobs.latency = 1.0
    wid = next(c.wid for c in sandbox.data.customers if sandbox.data.counts(c.wid)[1] >= 5)
    before = sandbox.data.snapshot(wid).payments
    with make_client(sandbox, payments_page_size=2) as client, ThreadPoolExecutor(1) as background:
        client.refresh_token()
        sandbox.stats.reset()
        fetching = background.submit(client.fetch_customer, sandbox.data.customer(wid))
        while sandbox.stats.max_in_flight == 0 and not fetching.done():
            time.sleep(0.005)
        sandbox.data.add_payment(wid)  # after our moment, before Workday serves page 1
        snapshot = fetching.result(timeout=60)

    # Every page at the moment the fetch began: the new payment on none of them, nothing missing.
    assert snapshot.payments == before
    pages = [entry.detail for entry in sandbox.stats.log if entry.operation == "Get_Customer_Payments"]
    assert len(pages) == -(-len(before) // 2) and len({page.split("as_of=")[1] for page in pages}) == 1


# --- match customers by key, never by position (knobs: references_ignore_case, reverse_response_order)


def test_references_in_another_case_and_order_resolve_to_their_own_customers(sandbox: Sandbox) -> None:
    sandbox.knobs.references_ignore_case = True
    sandbox.knobs.reverse_response_order = True
    customers: list[Customer] = sandbox.data.customers[1:4]
    identifiers = [
        (c.customer_id or "").lower() if n != 1 else c.customer_id or "" for n, c in enumerate(customers)
    ]

    with make_client(sandbox) as client:
        resolution = client.resolve_customers(identifiers, REF)

    assert resolution.unresolved == []
    assert {key: found.wid for key, found in resolution.found.items()} == {
        identifier: customer.wid for identifier, customer in zip(identifiers, customers, strict=True)
    }


# --- decide from fault codes and Xpaths (knobs: fault_locale, processing_fault_rate) ---------------


@pytest.mark.parametrize("locale", ["de", "fr"])
def test_unknown_references_in_another_language_are_unresolved(sandbox: Sandbox, locale: str) -> None:
    sandbox.knobs.fault_locale = locale
    known = sandbox.data.customers[2]
    with make_client(sandbox) as client:
        resolution = client.resolve_customers(["C-404404", known.customer_id or ""], REF)
        assert resolution.unresolved == ["C-404404"]
        assert resolution.found[known.customer_id or ""].wid == known.wid
        ghost = Customer("0" * 32, None, None, "Ghost", None, None, None)
        with pytest.raises(WorkdayNotFoundError):
            client.fetch_customer(ghost)


def test_a_version_refused_in_another_language_is_a_configuration_error(sandbox: Sandbox) -> None:
    sandbox.knobs.fault_locale = "de"
    with make_client(sandbox, api_version="v12.0") as client:
        with pytest.raises(WorkdayConfigurationError, match="WORKDAY_API_VERSION") as raised:
            client.resolve_customers(["C-000001"], REF)
        assert client.request_counts["Get_Customers"] == 1
    assert "v12.0" in str(raised.value) and "Version" in str(raised.value)


@pytest.mark.parametrize("operation", ["Get_Customers", "Get_Customer_Payments"])
def test_not_authorized_in_another_language_stops_after_a_few_tries(sandbox: Sandbox, operation: str) -> None:
    sandbox.knobs.fault_locale = "fr"
    sandbox.knobs.unauthorized_operations = {operation}
    customer = sandbox.data.customers[1]
    with make_client(sandbox) as client:
        with pytest.raises(WorkdayNotAuthorizedError) as raised:
            if operation == "Get_Customers":
                client.resolve_customers([customer.customer_id or ""], REF)
            else:
                client.fetch_customer(customer)
        assert client.request_counts[operation] == RetryPolicy().processing_attempts
    assert f"integration user is not authorized for {operation}" in str(raised.value)
    assert "autorisée" in str(raised.value)


def test_transient_processing_faults_are_retried(sandbox: Sandbox) -> None:
    sandbox.knobs.processing_fault_rate = 0.3
    sandbox.knobs.fault_seed = 5
    with make_client(sandbox) as client:
        identifiers = [c.customer_id or "" for c in sandbox.data.customers]
        resolution = client.resolve_customers(identifiers, REF)
        assert resolution.unresolved == []
        for customer in resolution.found.values():
            payment_wids(sandbox, client, customer.wid)
    assert sandbox.stats.count("Get_Customer_Payments", "fault") > 0
