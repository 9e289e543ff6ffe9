"""OAuth of the Workday client against the sandbox: refresh, rotation, revocation, shared token stores,
and secrets kept out of logs, messages and reprs."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
from kits.workday import FAST_RETRY

from sync_engine.domain import IdentifierType
from sync_engine.errors import WorkdayConfigurationError
from sync_engine.settings import WorkdaySettings
from sync_engine.workday import (
    MemoryTokenStore,
    RedisTokenStore,
    TokenState,
    TokenStore,
    WorkdayClient,
)
from sync_engine.workday.auth import _fingerprint
from sync_engine.workday.sandbox import Sandbox, SandboxData


@pytest.fixture
def sandbox_data() -> SandboxData:
    return SandboxData.generate(customers=6, seed=3, big_customer_documents=150)


def settings_for(sandbox: Sandbox, **overrides: Any) -> WorkdaySettings:
    return sandbox.workday_settings(**{"rate_limit": 1000.0, "timeout": 10.0, **overrides})


def make_client(sandbox: Sandbox, store: TokenStore | None = None, **overrides: Any) -> WorkdayClient:
    return WorkdayClient(settings_for(sandbox, **overrides), token_store=store, retry=FAST_RETRY)


def resolve_one(sandbox: Sandbox, client: WorkdayClient) -> None:
    first = sandbox.data.customers[0]
    found = client.resolve_customers([first.customer_id or ""], IdentifierType.REFERENCE).found
    assert list(found) == [first.customer_id]


def stale_state(settings: WorkdaySettings) -> TokenState:
    """A token another process stored that Workday no longer accepts (revoked, or the tenant restarted)."""
    return TokenState(
        access_token="stale-access-token",
        expires_at=time.time() + 3600,
        refresh_at=time.time() + 3000,
        refresh_token=None,
        origin=_fingerprint(settings.refresh_token.get_secret_value()),
    )


# --- refresh ----------------------------------------------------------------------------------------


def test_one_token_serves_every_request_until_it_is_due(sandbox: Sandbox) -> None:
    with make_client(sandbox) as client:
        for customer in sandbox.data.customers:
            client.fetch_customer(customer)
        assert client.request_counts["token"] == 1


def test_an_expiring_token_is_refreshed_before_use(sandbox: Sandbox) -> None:
    sandbox.knobs.token_lifetime = 2
    with make_client(sandbox) as client:
        resolve_one(sandbox, client)
        time.sleep(1.1)  # past the refresh point: 60 s early, at most half the lifetime
        resolve_one(sandbox, client)

        assert client.request_counts["token"] == 2
        assert sandbox.stats.count(outcome="unauthorized") == 0


@pytest.mark.parametrize("operation", ["Get_Customers", "fetch"])
def test_a_rejected_token_is_refreshed_once_and_the_request_repeated(
    sandbox: Sandbox, operation: str
) -> None:
    settings = settings_for(sandbox)
    store = MemoryTokenStore()
    store.save(stale_state(settings))

    with WorkdayClient(settings, token_store=store, retry=FAST_RETRY) as client:
        if operation == "Get_Customers":
            resolve_one(sandbox, client)
        else:
            # REST (401) and SOAP (authentication fault) both find the token rejected, concurrently.
            wid = sandbox.data.big_customer_wid
            snapshot = client.fetch_customer(sandbox.data.customer(wid))
            assert snapshot.invoices == sandbox.data.snapshot(wid).invoices

        assert client.request_counts["token"] == 1
        stats = sandbox.stats
    assert stats.count("token") == 1
    # A fetch's REST and SOAP pages go out at once: both meet the stale token, unless one leaves after the
    # other's refresh (a loaded machine); either way the token is refreshed once.
    assert stats.count(outcome="unauthorized") in ({1} if operation == "Get_Customers" else {1, 2})
    new_state = store.load()
    assert new_state is not None and new_state.access_token != "stale-access-token"


def test_rotated_refresh_tokens_are_kept_and_shared(sandbox: Sandbox) -> None:
    sandbox.knobs.rotate_refresh_tokens = True
    sandbox.knobs.rotation_grace = 0  # a rotated-out refresh token dies at once
    sandbox.knobs.token_lifetime = 2
    shared = MemoryTokenStore()
    configured = settings_for(sandbox)

    with make_client(sandbox, shared) as first, make_client(sandbox, shared) as second:
        resolve_one(sandbox, first)  # spends the configured refresh token, keeps the rotated one
        resolve_one(sandbox, second)  # same store: reuses the token, no refresh
        assert (first.request_counts["token"], second.request_counts["token"]) == (1, 0)
        time.sleep(1.1)
        resolve_one(sandbox, second)  # refreshes with the rotated refresh token
        resolve_one(sandbox, first)  # picks up what the other one stored
        assert (first.request_counts["token"], second.request_counts["token"]) == (1, 1)
        state = shared.load()
        assert state is not None and state.refresh_token == sandbox.refresh_token

    # A process that did not share the store would spend the configured, long-rotated refresh token.
    stranger = WorkdayClient(configured, retry=FAST_RETRY)
    with stranger, pytest.raises(WorkdayConfigurationError, match="invalid_grant"):
        resolve_one(sandbox, stranger)


def test_a_newly_configured_refresh_token_replaces_a_stored_chain(sandbox: Sandbox) -> None:
    store = MemoryTokenStore()
    old = settings_for(sandbox)
    store.save(
        TokenState("old-access", time.time() + 3600, time.time() + 3000, "old-refresh", origin="elsewhere")
    )

    with WorkdayClient(old, token_store=store, retry=FAST_RETRY) as client:
        resolve_one(sandbox, client)
        assert client.request_counts["token"] == 1
    state = store.load()
    assert state is not None and state.access_token != "old-access" and state.refresh_token is None


# --- credentials refused ----------------------------------------------------------------------------


def test_revoked_credentials_are_a_configuration_error_without_retries(sandbox: Sandbox) -> None:
    sandbox.knobs.revoked = True
    with make_client(sandbox) as client:
        with pytest.raises(WorkdayConfigurationError) as raised:
            resolve_one(sandbox, client)
        assert str(raised.value).startswith("Workday is not connected: credentials rejected (invalid_grant)")
        assert "WORKDAY_REFRESH_TOKEN" in str(raised.value)
        assert client.request_counts == {"token": 1}


def test_credentials_revoked_while_running(sandbox: Sandbox) -> None:
    with make_client(sandbox) as client:
        resolve_one(sandbox, client)
        sandbox.knobs.revoked = True
        with pytest.raises(WorkdayConfigurationError, match="credentials rejected"):
            resolve_one(sandbox, client)
        # The refused call, one refresh that fails: no loop.
        assert client.request_counts == {"token": 2, "Get_Customers": 2}


def test_a_wrong_client_secret(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    secret = "wrong-secret-" + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG)
    with make_client(sandbox, client_secret=secret) as client:
        with pytest.raises(WorkdayConfigurationError) as raised:
            resolve_one(sandbox, client)
        assert client.request_counts == {"token": 1}
    message = str(raised.value)
    assert message.startswith("Workday is not connected: credentials rejected (invalid_client)")
    assert "WORKDAY_CLIENT_SECRET" in message
    assert secret not in message and secret not in caplog.text


def test_secrets_stay_out_of_logs_messages_and_reprs(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.knobs.rotate_refresh_tokens = True
    sandbox.knobs.token_lifetime = 2
    sandbox.knobs.soap_500_rate = 0.3  # retries log their reasons
    settings = settings_for(sandbox)
    store = MemoryTokenStore()
    with WorkdayClient(settings, token_store=store, retry=FAST_RETRY) as client:
        for customer in sandbox.data.customers:
            client.fetch_customer(customer)
        time.sleep(1.1)
        resolve_one(sandbox, client)
        state = store.load()
        assert state is not None and state.refresh_token
        secrets = [
            settings.client_secret.get_secret_value(),
            settings.refresh_token.get_secret_value(),
            state.access_token,
            state.refresh_token,
        ]
        shown = [caplog.text, repr(client), repr(settings), repr(state), repr(store), repr(client.__dict__)]
    assert "retrying" in caplog.text
    for secret in secrets:
        for text in shown:
            assert secret not in text


# --- a token store shared through Redis -------------------------------------------------------------


@pytest.fixture
def token_key(redis_client: redis.Redis) -> Iterator[str]:
    key = f"test-workday-client-auth:{uuid.uuid4().hex}:token"
    yield key
    redis_client.delete(key, f"{key}:refresh")


def test_processes_sharing_redis_share_one_token(
    sandbox: Sandbox, redis_client: redis.Redis, token_key: str
) -> None:
    sandbox.knobs.latency = 0.05  # refreshes overlap unless something serialises them
    sandbox.knobs.rotate_refresh_tokens = True
    sandbox.knobs.rotation_grace = 0
    sandbox.knobs.token_lifetime = 2
    clients = [make_client(sandbox, RedisTokenStore(redis_client, token_key)) for _ in range(4)]
    try:
        # Four "processes" (own client, own store object, own lock) all needing a token at once.
        with ThreadPoolExecutor(8) as threads:
            list(threads.map(lambda c: resolve_one(sandbox, c), clients * 2))
        assert sum(client.request_counts["token"] for client in clients) == 1

        # All of them need a new one: still one refresh, with the rotated refresh token (the configured one
        # died at once, so a second refresh with it would fail).
        time.sleep(1.1)
        with ThreadPoolExecutor(8) as threads:
            list(threads.map(lambda c: resolve_one(sandbox, c), clients * 2))
        assert sum(client.request_counts["token"] for client in clients) == 2
        assert sandbox.stats.count(outcome="unauthorized") == 0
    finally:
        for client in clients:
            client.close()
    stored = RedisTokenStore(redis_client, token_key).load()
    assert stored is not None and stored.refresh_token == sandbox.refresh_token
    assert "access_token" not in repr(RedisTokenStore(redis_client, token_key))
