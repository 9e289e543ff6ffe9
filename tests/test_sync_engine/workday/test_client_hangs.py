"""A Workday that takes requests and answers none (the sandbox's hang knob: `timeout_rate`, `hang_seconds`):
the client gives up on it in bounded time, sooner when other requests wait for a slot, and says Workday
stopped answering. Short test settings; the figures are printed (`pytest -s`)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from kits.workday import FAST_RETRY

from sync_engine.errors import WorkdayTransientError, WorkdayUnresponsiveError
from sync_engine.workday import RetryPolicy, WorkdayClient
from sync_engine.workday.sandbox import Sandbox, SandboxData


@pytest.fixture
def sandbox_data() -> SandboxData:
    return SandboxData.generate(customers=6, seed=7, big_customer_documents=50)


# Not `kit.make_client`: the client's own default timeout, as the deadline test meets it.
def make_client(sandbox: Sandbox, retry: RetryPolicy = FAST_RETRY, **overrides: Any) -> WorkdayClient:
    settings = sandbox.workday_settings(**{"rate_limit": 1000.0, **overrides})
    return WorkdayClient(settings, retry=retry)


def hang(sandbox: Sandbox) -> None:
    sandbox.knobs.timeout_rate = 1.0
    sandbox.knobs.hang_seconds = 600.0  # released when the sandbox closes


def test_a_hung_workday_is_reported_as_stopped_answering(sandbox: Sandbox) -> None:
    customer = sandbox.data.customers[1]
    with make_client(sandbox, timeout=0.5) as client:
        client.refresh_token()  # the token endpoint still answers
        hang(sandbox)
        started = time.monotonic()
        with pytest.raises(WorkdayUnresponsiveError, match=r"^Workday stopped answering: ") as raised:
            client.fetch_customer(customer)
        elapsed = time.monotonic() - started
        attempts = client.request_counts["invoices"] + client.request_counts["Get_Customer_Payments"]
    print(f"\nhung Workday, timeout 0.5 s: customer given up after {elapsed:.2f} s, {attempts} attempts")
    assert "no response to 3 attempt(s) in a row" in str(raised.value)
    assert "ReadTimeout" in str(raised.value) and sandbox.base_url in str(raised.value)


def test_a_hung_request_gives_up_sooner_while_others_wait_for_a_slot(sandbox: Sandbox) -> None:
    customers = sandbox.data.customers[1:3]
    # One slot for two customers' four requests: three of them wait while one is in flight.
    with make_client(sandbox, timeout=5.0, contended_timeout=0.2, max_in_flight=1) as client:
        client.refresh_token()
        hang(sandbox)
        started = time.monotonic()
        with ThreadPoolExecutor(2) as workers:
            outcomes = [workers.submit(client.fetch_customer, customer) for customer in customers]
            errors = [outcome.exception(timeout=120) for outcome in outcomes]
        elapsed = time.monotonic() - started
    print(
        f"\nhung Workday, 1 slot, timeout 5 s, 0.2 s while others wait: both given up after {elapsed:.2f} s"
    )
    assert all(isinstance(error, WorkdayUnresponsiveError) for error in errors), errors
    assert any("ReadTimeout after 0.2 s" in str(error) for error in errors)


def test_a_customers_retries_end_at_its_deadline(sandbox: Sandbox) -> None:
    sandbox.knobs.soap_500_rate = 1.0  # throttled for good
    patient = RetryPolicy(attempts=10_000, initial_wait=0.01, max_wait=0.02)
    with make_client(sandbox, retry=patient, customer_deadline=1.0) as client:
        started = time.monotonic()
        with pytest.raises(WorkdayTransientError, match="WORKDAY_CUSTOMER_DEADLINE") as raised:
            client.fetch_customer(sandbox.data.customers[1])
        elapsed = time.monotonic() - started
    print(f"\nthrottled for good, deadline 1 s: customer given up after {elapsed:.2f} s")
    assert not isinstance(raised.value, WorkdayUnresponsiveError)


def test_a_groups_deadline_is_named_as_the_groups(sandbox: Sandbox) -> None:
    # One limit for all the requests of the customers fetched together: the message must not say it is
    # one customer's.
    sandbox.knobs.soap_500_rate = 1.0
    patient = RetryPolicy(attempts=10_000, initial_wait=0.01, max_wait=0.02)
    written: list[str] = []
    with (
        make_client(sandbox, retry=patient, customer_deadline=1.0) as client,
        pytest.raises(WorkdayTransientError) as raised,
    ):
        client.fetch_customers(
            sandbox.data.customers[:3], lambda snapshot: written.append(snapshot.customer.wid)
        )
    message = str(raised.value)
    assert "(WORKDAY_CUSTOMER_DEADLINE, 1 s for every request of the customers fetched together" in message
    assert "customer's" not in message
    assert written == []  # nothing half-fetched was handed on
