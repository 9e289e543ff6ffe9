"""Readiness: can this process do its work now? `/healthz` says only that the process serves (liveness: a
load balancer or supervisor restarts it otherwise); `/readyz` also asks the store for a row and, when
REDIS_URL is set, Redis for a PING, each within CHECK_TIMEOUT seconds, so that a load balancer sends
Slack's requests only to processes that can answer them, and an alert can tell which dependency is out.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import redis

from sync_engine.runtime import Runtime
from sync_engine.shared_state import shared_redis
from sync_engine.store.database import Database

__all__ = ["CHECK_TIMEOUT", "Readiness", "ReadinessCheck"]

log = logging.getLogger(__name__)

#: Seconds each dependency has to answer (load balancers' probes time out after a few seconds).
CHECK_TIMEOUT = 2.0
OK = "ok"


@dataclass(frozen=True, slots=True)
class Readiness:
    """Each dependency checked → "ok", or why not: the error's type and where (never a password)."""

    checks: dict[str, str]

    @property
    def ok(self) -> bool:
        return all(outcome == OK for outcome in self.checks.values())

    def body(self) -> bytes:
        return json.dumps({"ok": self.ok, **self.checks}).encode()


class ReadinessCheck:
    """Callable: checks the store and Redis now. Thread-safe; a hung dependency costs a probe at most
    CHECK_TIMEOUT (the store's check waits on its own threads, Redis's client has socket timeouts)."""

    def __init__(self, database: Database, redis_client: redis.Redis | None) -> None:
        self._database = database
        self._redis = redis_client
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readiness")
        self._lock = threading.Lock()
        self._was_ready: bool | None = None

    @classmethod
    def of(cls, rt: Runtime) -> ReadinessCheck:
        return cls(rt.database, shared_redis(rt.settings, timeout=CHECK_TIMEOUT))

    def __call__(self) -> Readiness:
        checks = {"database": self._check_database()}
        if self._redis is not None:
            checks["redis"] = self._check_redis(self._redis)
        readiness = Readiness(checks)
        self._log_change(readiness)
        return readiness

    def _check_database(self) -> str:
        where = self._database.server

        def select_one() -> None:
            with self._database.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")

        try:
            self._threads.submit(select_one).result(timeout=CHECK_TIMEOUT)
        except FutureTimeout:
            return f"no answer from {where} within {CHECK_TIMEOUT:g} s"
        except Exception as error:
            return f"{type(error).__name__} from {where}"
        return OK

    @staticmethod
    def _check_redis(client: redis.Redis) -> str:
        options = client.connection_pool.connection_kwargs
        where = f"{options.get('host')}:{options.get('port')}/{options.get('db', 0)}"
        try:
            client.ping()
        except redis.RedisError as error:
            return f"{type(error).__name__} from {where}"
        return OK

    def _log_change(self, readiness: Readiness) -> None:
        """One line when readiness changes, not one per probe."""
        with self._lock:
            changed, self._was_ready = readiness.ok != self._was_ready, readiness.ok
        if changed and not readiness.ok:
            log.warning("Not ready: a dependency does not answer", extra=readiness.checks)
        elif changed and readiness.ok:
            log.info("Ready", extra=readiness.checks)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        if self._redis is not None:
            self._redis.close()
