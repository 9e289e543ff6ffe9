"""A run whose worker dies is resumed and finishes, with exact counts and no half-written customer.

The worker really dies: a subprocess killed with SIGKILL in the middle of a run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from kits.stack import FAST_RETRY, assert_store_matches_workday, expected_counts, sandbox_settings

from sync_engine import jobs, sync
from sync_engine.broker import EmbeddedWorker, build_broker
from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.errors import WorkdayTransientError
from sync_engine.run_errors import START_ATTEMPTS_EXHAUSTED
from sync_engine.runtime import Runtime, configure
from sync_engine.service import RunService
from sync_engine.store.database import Database
from sync_engine.sync import MAX_START_ATTEMPTS
from sync_engine.workday.sandbox import Sandbox, SandboxData
from sync_engine.workday_client import build_workday_client

#: Each response takes this long, so that a 12-customer run lasts long enough to be interrupted.
LATENCY = 0.15


def _synced_customers(service: RunService, run_id: int) -> int:
    return service.get(run_id).counts.customers


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@contextmanager
def _sandbox(customers: int = 20) -> Iterator[Sandbox]:
    with Sandbox(SandboxData.generate(customers=customers, seed=5)) as sandbox:
        sandbox.knobs.latency = LATENCY
        yield sandbox


def test_embedded_run_killed_midway_is_resumed_when_the_product_starts_again(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'store.db'}")
    database.migrate()
    with _sandbox() as sandbox:
        identifiers = [customer.customer_id for customer in sandbox.data.customers[:12]]
        environment = {
            **os.environ,
            **sandbox.workday_env(),
            "DATABASE_URL": database.url,
            "WORKER_THREADS": "2",
            # Groups of 3: written group by group, so the kill comes mid-run.
            "WORKDAY_CUSTOMERS_PER_GROUP": "3",
        }
        environment.pop("REDIS_URL", None)
        cli = subprocess.Popen(
            [sys.executable, "-m", "sync_engine", "sync", "--type", "reference", "--yes", *identifiers],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        settings = sandbox_settings(sandbox, database, None)
        rt = configure(Runtime(settings, database))
        service = RunService(database, jobs.DramatiqDispatcher(), rt.events)
        try:
            _wait_for(lambda: service.history(limit=1), 30, "the run to be stored")
            run_id = service.history(limit=1)[0].id
            _wait_for(lambda: _synced_customers(service, run_id) >= 2, 60, "two customers to sync")
        finally:
            _kill(cli)
        interrupted = service.get(run_id)
        assert interrupted.status is RunStatus.IN_PROGRESS
        assert interrupted.counts.customers < 12

        # The product starts again: its embedded worker resumes what was left.
        rt.workday_client = build_workday_client(settings, retry=FAST_RETRY)
        broker = build_broker(rt)
        started = time.monotonic()
        with EmbeddedWorker(rt, broker, threads=4):
            _wait_for(lambda: service.get(run_id).is_final, 90, "the resumed run to finish")
        print(f"\nembedded resume finished the run {time.monotonic() - started:.1f} s after restart")
        run = service.get(run_id)
        wids = [customer.wid for customer in sandbox.data.customers[:12]]
        assert run.status is RunStatus.COMPLETED, run.error
        assert run.counts == expected_counts(sandbox.data, wids)
        assert_store_matches_workday(database, sandbox.data, wids)
        rt.close()


@pytest.mark.timeout(480)
def test_redis_worker_killed_midway_is_resumed_by_a_new_worker(
    postgres_database: Database, redis_url: str
) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    with _sandbox() as sandbox:
        settings = sandbox_settings(sandbox, postgres_database, redis_url)
        rt = configure(Runtime(settings, postgres_database))
        build_broker(rt)  # this process only sends; the workers are subprocesses
        service = RunService(postgres_database, jobs.DramatiqDispatcher(), rt.events)
        environment = {
            **os.environ,
            **sandbox.workday_env(),
            "DATABASE_URL": postgres_database.url,
            "REDIS_URL": redis_url,
        }

        def start_worker() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dramatiq",
                    "sync_engine.worker_boot",
                    "--processes",
                    "1",
                    "--threads",
                    "4",
                    "--queues",
                    jobs.QUEUE,
                ],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )

        customers = sandbox.data.customers[:12]
        first = start_worker()
        try:
            run = service.submit(IdentifierType.SOURCE_ID, [c.wid for c in customers], requested_by="U1")
            _wait_for(lambda: _synced_customers(service, run.id) >= 2, 60, "two customers to sync")
        finally:
            _kill(first)
        assert service.get(run.id).status is RunStatus.IN_PROGRESS

        second = start_worker()
        started = time.monotonic()
        try:
            # About 20 s on a quiet machine; the cap leaves room for a loaded one.
            _wait_for(lambda: service.get(run.id).is_final, 360, "the resumed run to finish")
        finally:
            _kill(second)
        print(
            f"\nredis resume finished the run {time.monotonic() - started:.1f} s after the new worker started"
        )
        done = service.get(run.id)
        wids = [c.wid for c in customers]
        assert done.status is RunStatus.COMPLETED, done.error
        assert done.counts == expected_counts(sandbox.data, wids)
        assert_store_matches_workday(postgres_database, sandbox.data, wids)


def test_a_run_whose_start_never_finishes_ends_in_error_instead_of_looping(sqlite_database: Database) -> None:
    # Every delivery of its start fails before resolving (here Workday's SOAP answers a plain 500 each
    # time; a worker killed mid-resolve is the same to the count): Dramatiq would redeliver it for ever.
    with _sandbox() as sandbox:
        sandbox.knobs.soap_500_rate = 1.0
        sandbox.knobs.latency = 0.0
        settings = sandbox_settings(sandbox, sqlite_database, None)
        rt = configure(Runtime(settings, sqlite_database))
        broker = build_broker(rt)  # holds the start the submit sends; no worker takes it
        rt.workday_client = build_workday_client(settings, retry=FAST_RETRY)
        service = RunService(sqlite_database, jobs.DramatiqDispatcher(), rt.events)
        run = service.submit(IdentifierType.SOURCE_ID, [sandbox.data.customers[0].wid], requested_by="U1")

        for _ in range(MAX_START_ATTEMPTS):
            with pytest.raises(WorkdayTransientError):
                sync.resolve_run(rt, run.id, final_attempt=False)
            assert service.get(run.id).status is RunStatus.RECEIVED
        asked = sandbox.stats.count("Get_Customers")
        assert sync.resolve_run(rt, run.id, final_attempt=False) == []

        stopped = service.get(run.id)
        assert stopped.status is RunStatus.ERROR
        assert START_ATTEMPTS_EXHAUSTED.format(n=MAX_START_ATTEMPTS) in (stopped.error or "")
        assert sandbox.stats.count("Get_Customers") == asked  # the last delivery asked Workday nothing
        broker.close()
        rt.close()
