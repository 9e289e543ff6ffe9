"""OAuth 2.0 for Workday: the refresh-token grant, a cached access token, and rotated refresh tokens.

The token state lives in a `TokenStore` so that every process of the service shares one access token and
one (possibly rotated) refresh token: `MemoryTokenStore` for one process, `RedisTokenStore` for many. A
refresh happens under the store's lock, so two processes never spend the same refresh token at once.
Secrets never appear in logs, exception messages or reprs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from typing import Protocol

import httpx
import redis
from redis.exceptions import LockError

from sync_engine.errors import WorkdayCredentialsError, WorkdayPermanentError, WorkdayTransientError
from sync_engine.settings import WorkdaySettings
from sync_engine.workday.error_answers import raise_for_common
from sync_engine.workday.rest import parse_error
from sync_engine.workday.transport import Transport

__all__ = ["MemoryTokenStore", "RedisTokenStore", "TokenManager", "TokenState", "TokenStore"]

logger = logging.getLogger(__name__)

#: Seconds before expiry at which an access token is refreshed (at most half its lifetime).
REFRESH_MARGIN = 60.0
#: What Workday's token endpoint answers for a tenant the host does not serve ("503: Service Unavailable
#: Invalid Tenant Name": Salesforce's RaaS-for-Workday guide), and also during maintenance.
UNKNOWN_TENANT_STATUS = 503
#: Seconds a process may hold the refresh lock in Redis (a crashed holder frees it then).
DEFAULT_LOCK_SECONDS = 300.0

_HINTS = {
    "invalid_client": "check WORKDAY_CLIENT_ID and WORKDAY_CLIENT_SECRET",
    "unauthorized_client": "check WORKDAY_CLIENT_ID and WORKDAY_CLIENT_SECRET",
    "invalid_grant": "the refresh token is unknown, expired or revoked; set a new WORKDAY_REFRESH_TOKEN",
}


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class TokenState:
    """An access token and the refresh token to get the next one; times are epoch seconds."""

    access_token: str = field(repr=False)
    expires_at: float
    #: When to refresh: `REFRESH_MARGIN` before expiry.
    refresh_at: float
    #: The latest refresh token Workday issued (rotation); None = the configured one is still current.
    refresh_token: str | None = field(repr=False)
    #: Fingerprint of the configured refresh token this state descends from: a newly configured refresh
    #: token starts a new chain instead of reusing one rotated from an old token.
    origin: str

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> TokenState:
        return cls(**json.loads(text))


class TokenStore(Protocol):
    """Where the token state lives, shared by everyone that uses the same Workday credentials."""

    def load(self) -> TokenState | None: ...

    def save(self, state: TokenState) -> None: ...

    def lock(self) -> AbstractContextManager[None]:
        """Held while refreshing: one refresh at a time per store."""
        ...


class MemoryTokenStore:
    """Token state of this process only (the embedded single-process mode and tests)."""

    def __init__(self) -> None:
        self._state: TokenState | None = None
        self._lock = threading.Lock()

    def load(self) -> TokenState | None:
        return self._state

    def save(self, state: TokenState) -> None:
        self._state = state

    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield


class RedisTokenStore:
    """Token state in one Redis key, shared by every process; refreshes serialised by a Redis lock."""

    def __init__(
        self, redis_client: redis.Redis, key: str, *, lock_seconds: float = DEFAULT_LOCK_SECONDS
    ) -> None:
        self._redis = redis_client
        self.key = key
        self._lock_seconds = lock_seconds

    def __repr__(self) -> str:
        return f"RedisTokenStore(key={self.key!r})"

    def load(self) -> TokenState | None:
        raw = self._redis.get(self.key)
        if raw is None:
            return None
        try:
            return TokenState.from_json(raw)
        except (ValueError, TypeError):
            logger.warning("Ignoring an unreadable Workday token state in Redis key %s.", self.key)
            return None

    def save(self, state: TokenState) -> None:
        self._redis.set(self.key, state.to_json())

    @contextmanager
    def lock(self) -> Iterator[None]:
        lock = self._redis.lock(
            f"{self.key}:refresh", timeout=self._lock_seconds, blocking_timeout=self._lock_seconds
        )
        if not lock.acquire():
            raise WorkdayTransientError(
                "Timed out waiting for another process to refresh the Workday access token; try again later."
            )
        try:
            yield
        finally:
            try:
                lock.release()
            except LockError:  # held past its timeout; another process may own it now
                logger.warning("The Workday token refresh outlived its Redis lock (%s).", self.key)


class TokenManager:
    """Hands out a valid access token; refreshes it ~60 s before expiry or when Workday rejects it.

    Thread-safe: one instance serves all threads of a process.
    """

    def __init__(self, settings: WorkdaySettings, store: TokenStore, transport: Transport) -> None:
        self._settings = settings
        self._store = store
        self._transport = transport
        self._origin = _fingerprint(settings.refresh_token.get_secret_value())
        self._url = f"{settings.base_url}/ccx/oauth2/{settings.tenant}/token"
        self._lock = threading.Lock()
        self._state: TokenState | None = None

    def __repr__(self) -> str:
        return f"TokenManager(tenant={self._settings.tenant!r})"

    def token(self) -> str:
        """A valid access token, refreshed first if it is due."""
        state = self._state
        if state is not None and time.time() < state.refresh_at:
            return state.access_token
        return self._refresh(rejected=None)

    def refresh(self) -> str:
        """A new access token now, even if the current one is still good (proves the credentials work).

        Goes through the store like any refresh, so a rotated refresh token is used and kept."""
        with self._lock, self._store.lock():
            stored = self._store.load()
            state = self._grant(stored if stored is not None and stored.origin == self._origin else None)
            self._store.save(state)
            self._state = state
            return state.access_token

    def rejected(self, token: str) -> str:
        """Workday rejected `token`: a new one (unless another thread or process already got one)."""
        return self._refresh(rejected=token)

    def _usable(self, state: TokenState | None, rejected: str | None) -> bool:
        return (
            state is not None
            and state.origin == self._origin
            and time.time() < state.refresh_at
            and state.access_token != rejected
        )

    def _refresh(self, rejected: str | None) -> str:
        with self._lock:
            if self._usable(self._state, rejected):
                assert self._state is not None
                return self._state.access_token
            with self._store.lock():
                stored = self._store.load()
                if stored is not None and stored.origin != self._origin:
                    stored = None  # descends from a refresh token that is no longer configured
                if not self._usable(stored, rejected):
                    stored = self._grant(stored)
                    self._store.save(stored)
                assert stored is not None
                self._state = stored
                return stored.access_token

    def _grant(self, previous: TokenState | None) -> TokenState:
        settings = self._settings
        refresh_token = (
            previous.refresh_token if previous else None
        ) or settings.refresh_token.get_secret_value()
        started = time.time()
        try:
            response = self._transport.request(
                "token",
                "POST",
                self._url,
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                auth=httpx.BasicAuth(settings.client_id, settings.client_secret.get_secret_value()),
            )
        except WorkdayTransientError as failed:
            if failed.status != UNKNOWN_TENANT_STATUS:
                raise
            # Still transient: maintenance answers the same 503, and a run must not stop for it (the job
            # retries); the hint names the settings in case the tenant is what is wrong.
            raise WorkdayTransientError(
                f"Workday's token endpoint on {settings.base_url} answered HTTP {UNKNOWN_TENANT_STATUS} "
                f"Service Unavailable for tenant {settings.tenant!r}: either the tenant is unknown on that "
                "host (check WORKDAY_TENANT and WORKDAY_BASE_URL, the services host of the tenant's data "
                "centre) or Workday is down for maintenance.",
                status=UNKNOWN_TENANT_STATUS,
            ) from None
        if response.status_code in (400, 401):
            error = parse_error(response.content) or f"HTTP {response.status_code}"
            hint = _HINTS.get(error, "check the Workday API client and its refresh token")
            raise WorkdayCredentialsError(
                f"Workday is not connected: credentials rejected ({error}); {hint}."
            )
        raise_for_common(settings, response, "token")
        try:
            body = response.json()
            access_token = body["access_token"]
            expires_in = float(body.get("expires_in", 3600))
            rotated = body.get("refresh_token")
            if not isinstance(access_token, str) or not access_token:
                raise ValueError("no access_token")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise WorkdayPermanentError(
                "Workday's token endpoint sent a response without an access token."
            ) from None
        kept = previous.refresh_token if previous is not None else None
        if rotated:
            logger.info("Workday rotated the refresh token of tenant %s.", settings.tenant)
        return TokenState(
            access_token=access_token,
            expires_at=started + expires_in,
            refresh_at=started + expires_in - min(REFRESH_MARGIN, expires_in / 2),
            # The configured refresh token is never written to the store; only one Workday rotated in.
            refresh_token=rotated if isinstance(rotated, str) and rotated else kept,
            origin=self._origin,
        )
