"""Workday connection status, as the CLI's `check` and Slack's `status` show it.

A check costs one token refresh and one cheap request per operation (`sync_engine.workday.check`). Its
outcome is cached for `CACHE_SECONDS` (in Redis when REDIS_URL is set, so every process shares it; else
in this process) so Slack's command answers within its 3 seconds. When the connection was last verified
lives in the store, so it survives restarts and is the same for every process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import redis

from sync_engine.clock import utcnow
from sync_engine.domain import BatchRun
from sync_engine.errors import SettingsError
from sync_engine.settings import Settings
from sync_engine.shared_state import shared_redis
from sync_engine.store import runs, verified_connections
from sync_engine.store.database import Database
from sync_engine.workday.check import CHECK_RETRY, CHECK_TIMEOUT, Problem, WorkdayCheck, check_workday
from sync_engine.workday.client import WorkdayClient
from sync_engine.workday_client import build_workday_client

__all__ = [
    "CACHE_SECONDS",
    "ConnectionService",
    "ConnectionStatus",
    "MemoryCheckCache",
    "Problem",
    "RedisCheckCache",
]

log = logging.getLogger(__name__)

#: How long a check's outcome is reused.
CACHE_SECONDS = 60.0
#: Seconds a Redis call of the cache may take: a hung Redis must not hold a Slack listener (a miss instead).
REDIS_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """Everything `check` and `status` show."""

    connected: bool
    #: Why not, when not connected.
    problem: Problem | None
    #: The exact reason (what to fix), when not connected; never a secret.
    reason: str | None
    #: None when WORKDAY_TENANT is not set.
    tenant: str | None
    api_version: str
    checked_at: datetime
    #: The last time a check passed (this one, if connected); None if never.
    verified_at: datetime | None
    #: The most recent confirmed run, if any.
    last_run: BatchRun | None

    @property
    def blocks_runs(self) -> bool:
        """Not connected in a way a run cannot get past (Workday merely unavailable does not block)."""
        return not self.connected and self.problem is not Problem.UNAVAILABLE


class CheckCache(Protocol):
    def get(self) -> WorkdayCheck | None: ...

    def put(self, check: WorkdayCheck) -> None: ...


class MemoryCheckCache:
    """This process's last check, for `ttl` seconds."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self._ttl = timedelta(seconds=ttl)
        self._check: WorkdayCheck | None = None

    def get(self) -> WorkdayCheck | None:
        check = self._check
        return check if check is not None and utcnow() - check.checked_at < self._ttl else None

    def put(self, check: WorkdayCheck) -> None:
        self._check = check


class RedisCheckCache:
    """The last check of any process, for `ttl` seconds (a Redis key that expires)."""

    def __init__(self, connection: redis.Redis, key: str, ttl: float = CACHE_SECONDS) -> None:
        self._redis = connection
        self.key = key
        self._ttl_ms = max(1, int(ttl * 1000))

    def get(self) -> WorkdayCheck | None:
        try:
            raw = self._redis.get(self.key)
        except redis.RedisError as error:
            log.warning("Connection check cache unavailable (Redis): checking", extra={"error": str(error)})
            return None
        if raw is None:
            return None
        try:
            return WorkdayCheck.from_json(raw)
        except (ValueError, KeyError, TypeError):
            return None

    def put(self, check: WorkdayCheck) -> None:
        try:
            self._redis.set(self.key, check.to_json(), px=self._ttl_ms)
        except redis.RedisError as error:
            log.warning("Connection check not cached (Redis)", extra={"error": str(error)})


class ConnectionService:
    """Checks the Workday connection, caches the outcome, and tells the status with the last run."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        cache: CheckCache | None = None,
        client_factory: Callable[[], WorkdayClient] | None = None,
    ) -> None:
        self._settings = settings
        self._database = database
        self._cache = cache or _default_cache(settings)
        self._client_factory = client_factory or (lambda: _check_client(settings))
        self._lock = threading.Lock()
        self._pending: Future[WorkdayCheck] | None = None

    def status(self, *, fresh: bool = False) -> ConnectionStatus:
        """The status, from a check at most `CACHE_SECONDS` old unless `fresh` (then checked now)."""
        status = self.status_within(None, fresh=fresh)
        assert status is not None
        return status

    def start_check(self) -> None:
        """Start a check in the background unless an outcome is cached, so a later `status_within` finds
        it under way or done (nothing is waited for)."""
        try:
            self._settings.workday()
        except SettingsError:
            return
        if self._cache.get() is None:
            self._start_check(False)

    def status_within(self, seconds: float | None, *, fresh: bool = False) -> ConnectionStatus | None:
        """The status, or None if a check it needs takes longer than `seconds` (it goes on; a later call
        gets its outcome). One check at a time per process: concurrent callers share it."""
        try:
            workday = self._settings.workday()
        except SettingsError as error:
            missing = WorkdayCheck(Problem.SETTINGS_MISSING, str(error), utcnow())
            return self._status(missing, None)
        check = None if fresh else self._cache.get()
        if check is None:
            future = self._start_check(fresh)
            if seconds is None or future.done():
                check = future.result()
            else:
                try:
                    check = future.result(timeout=seconds)
                except TimeoutError:
                    return None
        return self._status(check, workday.tenant)

    def _start_check(self, fresh: bool) -> Future[WorkdayCheck]:
        with self._lock:
            if self._pending is not None and not self._pending.done():
                return self._pending
            future: Future[WorkdayCheck] = Future()
            self._pending = future
        if fresh:
            self._run(future)
        else:
            threading.Thread(target=self._run, args=(future,), name="workday-check", daemon=True).start()
        return future

    def _run(self, future: Future[WorkdayCheck]) -> None:
        try:
            future.set_result(self._check())
        except Exception as error:  # handed to whoever waits for it
            future.set_exception(error)

    def _check(self) -> WorkdayCheck:
        workday = self._settings.workday()
        with self._client_factory() as client:
            check = check_workday(client)
        if check.connected:
            with self._database.session() as session:
                verified_connections.record_verified(session, workday.tenant, check.checked_at)
        else:
            log.warning("Workday connection check failed: %s", check.reason, extra={"problem": check.problem})
        self._cache.put(check)
        return check

    def _status(self, check: WorkdayCheck, tenant: str | None) -> ConnectionStatus:
        with self._database.session() as session:
            verified_at = verified_connections.last_verified(session, tenant) if tenant is not None else None
            history = runs.list_runs(session, limit=1)
        return ConnectionStatus(
            connected=check.connected,
            problem=check.problem,
            reason=check.reason,
            tenant=tenant,
            api_version=self._settings.workday_api_version,
            checked_at=check.checked_at,
            verified_at=verified_at,
            last_run=history[0] if history else None,
        )


def _check_client(settings: Settings) -> WorkdayClient:
    """A client that tries each request once, for at most `CHECK_TIMEOUT` seconds."""
    timeout = min(settings.workday_timeout, CHECK_TIMEOUT)
    return build_workday_client(settings.model_copy(update={"workday_timeout": timeout}), retry=CHECK_RETRY)


def _default_cache(settings: Settings) -> CheckCache:
    client = shared_redis(settings, timeout=REDIS_TIMEOUT)
    if client is None:
        return MemoryCheckCache()
    return RedisCheckCache(client, f"workday-resync:connection:{settings.workday_tenant or '-'}")
