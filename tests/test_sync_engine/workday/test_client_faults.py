"""How the Workday client meets trouble from the sandbox: throttling, 5xx, timeouts, faults it must not
retry, missing permissions, a wrong tenant or version."""

from __future__ import annotations

import time

import pytest
from kits.workday import FAST_RETRY, make_client

from sync_engine.domain import IdentifierType
from sync_engine.errors import (
    WorkdayConfigurationError,
    WorkdayPermanentError,
    WorkdayTransientError,
)
from sync_engine.workday import RetryPolicy, WorkdayClient
from sync_engine.workday.sandbox import Sandbox, SandboxData


@pytest.fixture
def sandbox_data() -> SandboxData:
    return SandboxData.generate(customers=10, seed=5, big_customer_documents=250)


def fetch_all_and_check(sandbox: Sandbox, client: WorkdayClient) -> None:
    identifiers = [c.customer_id or "" for c in sandbox.data.customers]
    resolution = client.resolve_customers(identifiers, IdentifierType.REFERENCE)
    assert resolution.unresolved == []
    for customer in resolution.found.values():
        snapshot = client.fetch_customer(customer)
        expected = sandbox.data.snapshot(customer.wid)
        assert (snapshot.invoices, snapshot.credit_notes, snapshot.payments) == (
            expected.invoices,
            expected.credit_notes,
            expected.payments,
        )


# --- retried ----------------------------------------------------------------------------------------


def test_throttling_and_plain_500s_are_ridden_out(sandbox: Sandbox) -> None:
    sandbox.knobs.rest_429_rate = 0.3
    sandbox.knobs.soap_500_rate = 0.3
    sandbox.knobs.fault_seed = 11
    with make_client(sandbox) as client:
        fetch_all_and_check(sandbox, client)
        stats = sandbox.stats
        assert stats.count("invoices", "throttled") > 0
        assert stats.count("Get_Customer_Payments", "throttled") > 0
        # Every attempt reached the server, and the client counted each one.
        assert stats.by_operation() == dict(client.request_counts)


def test_the_sandbox_rate_limit_is_ridden_out_too(sandbox: Sandbox) -> None:
    # A tenant far stricter than our settings: 429 / plain 500 until its bucket refills. Page 2 and 3 of
    # the invoices and page 1 of the payments go out together, more than a bucket of 2 lets through.
    sandbox.knobs.rate_limit = 2
    wid = sandbox.data.big_customer_wid
    with make_client(sandbox, retry=RetryPolicy(attempts=10, initial_wait=0.05, max_wait=1.0)) as client:
        snapshot = client.fetch_customer(sandbox.data.customer(wid))
        assert snapshot.invoices == sandbox.data.snapshot(wid).invoices
        assert sandbox.stats.count(outcome="throttled") > 0


def test_timeouts_are_retried(sandbox: Sandbox) -> None:
    sandbox.knobs.timeout_rate = 0.25
    sandbox.knobs.hang_seconds = 1.0
    sandbox.knobs.fault_seed = 3
    # Sporadic timeouts, a quarter of all requests: not a Workday that stopped answering, which a few
    # unanswered attempts in a row of one request would mean (see the hang tests).
    sporadic = RetryPolicy(attempts=6, initial_wait=0.01, max_wait=0.05, unanswered_attempts=6)
    with make_client(sandbox, retry=sporadic, timeout=0.3) as client:
        fetch_all_and_check(sandbox, client)
    # Held requests are recorded when the sandbox lets go of them.
    deadline = time.monotonic() + 5
    while sandbox.stats.count(outcome="timeout") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox.stats.count(outcome="timeout") > 0


def test_exhausted_retries_say_what_failed_and_how_often(sandbox: Sandbox) -> None:
    sandbox.knobs.soap_500_rate = 1.0
    with make_client(sandbox, retry=RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.02)) as client:
        with pytest.raises(WorkdayTransientError) as raised:
            client.resolve_customers(["C-000001"], IdentifierType.REFERENCE)
        assert client.request_counts["Get_Customers"] == 3
    message = str(raised.value)
    assert "Get_Customers failed 3 times" in message and "HTTP 500" in message and sandbox.base_url in message


def test_a_failing_stream_fails_the_whole_fetch(sandbox: Sandbox) -> None:
    sandbox.knobs.rest_429_rate = 1.0
    retry = RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.02)
    with (
        make_client(sandbox, retry=retry) as client,
        pytest.raises(WorkdayTransientError, match="invoices failed 2"),
    ):
        client.fetch_customer(sandbox.data.customer(sandbox.data.big_customer_wid))


# --- never retried ----------------------------------------------------------------------------------


def test_an_unsupported_version_is_a_configuration_error_sent_once(sandbox: Sandbox) -> None:
    with make_client(sandbox, api_version="v12.0") as client:
        with pytest.raises(WorkdayConfigurationError, match="WORKDAY_API_VERSION") as raised:
            client.resolve_customers(["C-000001"], IdentifierType.REFERENCE)
        assert client.request_counts["Get_Customers"] == 1
    assert "v12.0" in str(raised.value)


@pytest.mark.parametrize("operation", ["Get_Customers", "Get_Customer_Payments", "invoices"])
def test_an_operation_the_integration_user_may_not_call(sandbox: Sandbox, operation: str) -> None:
    sandbox.knobs.unauthorized_operations = {operation}
    customer = sandbox.data.customers[1]
    with make_client(sandbox) as client:
        with pytest.raises(WorkdayConfigurationError) as raised:
            if operation == "Get_Customers":
                client.resolve_customers([customer.customer_id or ""], IdentifierType.REFERENCE)
            else:
                client.fetch_customer(customer)
        # A REST 403 is asked once more with a fresh token (it may be a token of stale scopes).
        assert client.request_counts[operation] == (2 if operation == "invoices" else 1)
    assert f"integration user is not authorized for {operation}" in str(raised.value)


def test_validation_faults_are_never_retried(sandbox: Sandbox) -> None:
    with make_client(sandbox) as client:
        resolution = client.resolve_customers(["BAD-1"], IdentifierType.REFERENCE)
        assert resolution.unresolved == ["BAD-1"]
        assert client.request_counts["Get_Customers"] == 1
        assert sandbox.stats.count("Get_Customers", "fault") == 1


# --- wrong place ------------------------------------------------------------------------------------


def test_an_unknown_tenant(sandbox: Sandbox) -> None:
    with make_client(sandbox, tenant="no_such_tenant") as client:
        with pytest.raises(WorkdayTransientError) as raised:
            client.resolve_customers(["C-000001"], IdentifierType.REFERENCE)
        # Workday's token endpoint answers 503 for it, as it does in maintenance: transient, so retried
        # (a job retries it again later), and named in case the settings are what is wrong.
        assert client.request_counts == {"token": FAST_RETRY.attempts}
    message = str(raised.value)
    assert f"on {sandbox.base_url} answered HTTP 503" in message and "'no_such_tenant'" in message
    assert "WORKDAY_TENANT" in message and "WORKDAY_BASE_URL" in message and "maintenance" in message


def test_nobody_listening(sandbox: Sandbox) -> None:
    sandbox.close()
    retry = RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.02)
    with make_client(sandbox, retry=retry) as client, pytest.raises(WorkdayTransientError) as raised:
        client.resolve_customers(["C-000001"], IdentifierType.REFERENCE)
    assert "token failed 2 times" in str(raised.value) and "ConnectError" in str(raised.value)


def test_a_base_url_without_http(sandbox: Sandbox) -> None:
    with (
        make_client(sandbox, base_url="ftp://example.invalid") as client,
        pytest.raises(WorkdayConfigurationError, match="WORKDAY_BASE_URL"),
    ):
        client.resolve_customers(["C-000001"], IdentifierType.REFERENCE)


def test_errors_are_workday_errors_an_admin_can_read(sandbox: Sandbox) -> None:
    sandbox.knobs.unauthorized_operations = {"invoices"}
    with make_client(sandbox) as client, pytest.raises(WorkdayPermanentError) as raised:
        client.fetch_customer(sandbox.data.customers[0])
    assert "Traceback" not in str(raised.value)
    assert raised.value.__cause__ is None
