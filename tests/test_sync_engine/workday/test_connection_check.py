"""The connection check against the Workday sandbox over sockets: each state an admin can meet, what it
costs (one token refresh and one request per operation), and the cache that spares Workday."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
from kits.stack import FAST_RETRY, sandbox_settings
from pydantic import SecretStr

import sync_engine.connection_status
from sync_engine import jobs
from sync_engine.broker import EmbeddedWorker, build_broker
from sync_engine.connection_status import ConnectionService, MemoryCheckCache, Problem
from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.runtime import Runtime, configure
from sync_engine.service import RunService
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import Sandbox, SandboxData
from sync_engine.workday_client import build_workday_client

#: One token refresh, then one request per operation a sync calls.
CHECK_REQUESTS = {"token": 1, "Get_Customers": 1, "Get_Customer_Payments": 1, "invoices": 1}


# One tenant for the module (not conftest's, one per test); `clean_sandbox` resets it between tests.
@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxData.generate(customers=5, seed=9)) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def clean_sandbox(sandbox: Sandbox) -> Iterator[None]:
    sandbox.stats.reset()
    yield
    sandbox.knobs.revoked = False
    sandbox.knobs.unauthorized_operations = set()
    sandbox.knobs.latency = 0.0
    sandbox.knobs.seconds_per_result = 0.0


def connection(
    sandbox: Sandbox, database: Database, redis_url: str | None = None, **changes: Any
) -> ConnectionService:
    settings = sandbox_settings(sandbox, database, redis_url).model_copy(update=changes)
    return ConnectionService(settings, database)


def secrets_of(sandbox: Sandbox) -> list[str]:
    return [sandbox.client_secret, sandbox.refresh_token]


def test_a_good_connection_is_verified_with_one_request_per_operation(
    sandbox: Sandbox, sqlite_database: Database
) -> None:
    status = connection(sandbox, sqlite_database).status()

    assert status.connected and status.problem is None and status.reason is None
    assert (status.tenant, status.api_version) == (sandbox.tenant, "v45.2")
    assert status.verified_at == status.checked_at
    assert status.last_run is None
    assert sandbox.stats.by_operation() == CHECK_REQUESTS
    assert sandbox.stats.by_outcome() == {"ok": 4}


def test_a_large_tenant_is_checked_with_the_narrowest_queries(
    sandbox: Sandbox, sqlite_database: Database
) -> None:
    # Workday builds a query's whole result set on page 1: over all of this tenant's payments, or all its
    # invoices, 12 s or more however small the page (a check used to ask for those and give up after 10 s).
    invoices, payments, credit_notes = (
        sum(n) for n in zip(*map(sandbox.data.counts, sandbox.data.customer_wids), strict=True)
    )
    sandbox.knobs.seconds_per_result = 12.0 / min(payments, invoices + credit_notes)

    status = connection(sandbox, sqlite_database).status()

    assert status.connected, status.reason
    assert sandbox.stats.by_operation() == CHECK_REQUESTS


def test_a_cached_outcome_costs_no_request_and_shows_the_same_check(
    sandbox: Sandbox, sqlite_database: Database
) -> None:
    service = connection(sandbox, sqlite_database)
    first = service.status()

    again = service.status()

    assert again.checked_at == first.checked_at
    assert sandbox.stats.total() == 4
    service.status(fresh=True)
    assert sandbox.stats.total() == 8


def test_an_expired_outcome_is_checked_again(sandbox: Sandbox, sqlite_database: Database) -> None:
    settings = sandbox_settings(sandbox, sqlite_database, None)
    service = ConnectionService(settings, sqlite_database, cache=MemoryCheckCache(ttl=0.2))
    first = service.status()
    time.sleep(0.3)

    second = service.status()

    assert second.checked_at > first.checked_at
    assert sandbox.stats.total() == 8


def test_processes_sharing_redis_share_the_outcome(
    sandbox: Sandbox, sqlite_database: Database, redis_url: str
) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    checked = connection(sandbox, sqlite_database, redis_url).status()

    elsewhere = connection(sandbox, sqlite_database, redis_url).status()

    assert elsewhere.connected and elsewhere.checked_at == checked.checked_at
    assert sandbox.stats.total() == 4


def test_a_bad_client_secret_is_the_token_endpoint_rejecting_the_client(
    sandbox: Sandbox, sqlite_database: Database
) -> None:
    status = connection(sandbox, sqlite_database, workday_client_secret=SecretStr("not-the-secret")).status()

    assert not status.connected and status.blocks_runs
    assert status.problem is Problem.CREDENTIALS_REJECTED
    assert status.reason is not None
    assert "invalid_client" in status.reason and "WORKDAY_CLIENT_SECRET" in status.reason
    assert "not-the-secret" not in status.reason
    assert status.verified_at is None
    assert sandbox.stats.by_operation() == {"token": 1}


def test_a_revoked_grant_is_the_token_endpoint_rejecting_the_refresh_token(
    sandbox: Sandbox, sqlite_database: Database
) -> None:
    sandbox.knobs.revoked = True

    status = connection(sandbox, sqlite_database).status()

    assert status.problem is Problem.CREDENTIALS_REJECTED
    assert status.reason is not None
    assert "invalid_grant" in status.reason and "WORKDAY_REFRESH_TOKEN" in status.reason
    assert not any(secret in status.reason for secret in secrets_of(sandbox))
    assert sandbox.stats.by_operation() == {"token": 1}


def test_a_tenant_the_host_does_not_serve_is_named_but_does_not_block_runs(
    sandbox: Sandbox, sqlite_database: Database
) -> None:
    status = connection(sandbox, sqlite_database, workday_tenant="acme_tenantt").status()

    # Its token endpoint answers 503, as in maintenance: Workday unavailable (amber), the settings named.
    assert status.problem is Problem.UNAVAILABLE and not status.blocks_runs
    assert status.tenant == "acme_tenantt"
    assert status.reason is not None
    assert "'acme_tenantt'" in status.reason and sandbox.base_url in status.reason
    assert "WORKDAY_TENANT" in status.reason and "WORKDAY_BASE_URL" in status.reason
    assert "maintenance" in status.reason
    # One answer is enough: no retries on the token endpoint, nothing else asked.
    assert sandbox.stats.total() == 1


def test_a_run_on_an_unknown_tenant_ends_in_error_naming_the_settings(
    sandbox: Sandbox, sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    for actor in jobs.actors():  # the job's retries after milliseconds instead of seconds
        monkeypatch.setitem(actor.options, "min_backoff", 10)
        monkeypatch.setitem(actor.options, "max_backoff", 50)
    settings = sandbox_settings(sandbox, sqlite_database, None).model_copy(
        update={"workday_tenant": "acme_tenantt"}
    )
    rt = configure(Runtime(settings, sqlite_database))
    rt.workday_client = build_workday_client(settings, retry=FAST_RETRY)
    broker = build_broker(rt)
    service = RunService(sqlite_database, jobs.DramatiqDispatcher(), rt.events)
    with EmbeddedWorker(rt, broker, threads=1):
        run = service.submit(IdentifierType.REFERENCE, ["C-000001"], requested_by="U_TEST")
        deadline = time.monotonic() + 60
        while not (run := service.get(run.id)).is_final and time.monotonic() < deadline:
            time.sleep(0.05)
    broker.close()
    rt.workday_client.close()

    assert run.status is RunStatus.ERROR
    assert run.error is not None
    assert "'acme_tenantt'" in run.error and "WORKDAY_TENANT" in run.error and "maintenance" in run.error
    # Each of the job's attempts retried the token; the last one ended the run.
    assert sandbox.stats.total() == FAST_RETRY.attempts * (jobs.START_RUN_RETRIES + 1)


def test_a_workday_that_does_not_answer_is_given_up_on_in_seconds(
    sandbox: Sandbox, sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sync waits WORKDAY_TIMEOUT (minutes) per request; the check, which holds a Slack thread, does not.
    monkeypatch.setattr(sync_engine.connection_status, "CHECK_TIMEOUT", 0.3)
    sandbox.knobs.latency = 1.0

    status = connection(sandbox, sqlite_database, workday_timeout=120.0).status()

    assert status.problem is Problem.UNAVAILABLE and not status.blocks_runs
    assert status.reason is not None and "ReadTimeout" in status.reason
    deadline = time.monotonic() + 10  # the sandbox finishes the abandoned request: not the next test's
    while sandbox.stats.total() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_hung_or_missing_redis_is_a_cache_miss_not_a_hang(
    sandbox: Sandbox, sqlite_database: Database
) -> None:
    # A Redis that accepts connections and never answers, then one that refuses them.
    with socket.create_server(("127.0.0.1", 0)) as hung:
        for url in (f"redis://127.0.0.1:{hung.getsockname()[1]}/0", "redis://127.0.0.1:1/0"):
            settings = sandbox_settings(sandbox, sqlite_database, url)
            plain = settings.model_copy(update={"redis_url": None})  # Workday's own caps: not this test
            service = ConnectionService(
                settings, sqlite_database, client_factory=lambda s=plain: build_workday_client(s)
            )
            checking = ThreadPoolExecutor(max_workers=1)
            try:
                status = checking.submit(service.status).result(timeout=20)
            finally:
                checking.shutdown(wait=False)

            assert status.connected, url
    assert sandbox.stats.total() == 8  # no cache: each checked


def test_each_operation_the_integration_user_may_not_call_is_named(
    sandbox: Sandbox, sqlite_database: Database
) -> None:
    sandbox.knobs.unauthorized_operations = {"Get_Customer_Payments", "invoices"}

    status = connection(sandbox, sqlite_database).status()

    assert status.problem is Problem.NOT_AUTHORIZED
    assert status.reason is not None
    assert "Get_Customer_Payments" in status.reason and "invoices and credit notes" in status.reason
    assert "Get_Customers," not in status.reason
    # The REST 403 is asked once more with a fresh token before it counts as a missing permission.
    assert sandbox.stats.by_operation() == {**CHECK_REQUESTS, "token": 2, "invoices": 2}


def test_missing_settings_are_named_without_asking_workday(
    sandbox: Sandbox, sqlite_database: Database
) -> None:
    status = connection(sandbox, sqlite_database, workday_client_secret=None, workday_base_url=None).status()

    assert status.problem is Problem.SETTINGS_MISSING
    assert status.reason is not None
    assert "WORKDAY_BASE_URL" in status.reason and "WORKDAY_CLIENT_SECRET" in status.reason
    assert sandbox.stats.total() == 0


def test_last_verified_survives_a_failed_check_and_a_new_process(
    sandbox: Sandbox, sqlite_database: Database
) -> None:
    verified = connection(sandbox, sqlite_database).status().verified_at
    assert verified is not None
    sandbox.knobs.revoked = True

    failed = connection(sandbox, sqlite_database).status()

    assert not failed.connected and failed.checked_at > verified
    assert failed.verified_at == verified
