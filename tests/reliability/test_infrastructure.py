"""The broker and the store fail under a running batch: Redis restarts (every queued message lost), and
PostgreSQL drops the connection that is writing a customer. The run finishes; no customer is ever a mix
of its old and new data."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from kits.reliability import (
    PrivateRedis,
    StoreReader,
    assert_never_mixed,
    engine,
    seed_old_then_mutate,
    wait_for,
)
from kits.stack import expected_counts
from sqlalchemy import select, text

import sync_engine.broker
from sync_engine.domain import ItemStatus, RunStatus
from sync_engine.store.database import Database
from sync_engine.store.models import RunItemRow
from sync_engine.workday.sandbox import SandboxData


def _synced(database: Database, run_id: int) -> int:
    with database.session() as session:
        rows = session.scalars(select(RunItemRow.status).where(RunItemRow.run_id == run_id))
        return sum(status == ItemStatus.SYNCED.value for status in rows)


@pytest.mark.timeout(120)
def test_redis_restarted_mid_run_loses_its_messages_and_the_run_still_finishes(
    postgres_database: Database,
    private_redis: PrivateRedis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The sweeper's product timings (every 5 s, quiet for 45 s) shortened so the test takes seconds.
    monkeypatch.setattr(sync_engine.broker, "SWEEP_EVERY", timedelta(seconds=0.5))
    monkeypatch.setattr(sync_engine.broker, "QUIET_FOR", timedelta(seconds=3))
    data = SandboxData.generate(customers=30, seed=31, big_customer_documents=120)
    wids = data.customer_wids
    versions = seed_old_then_mutate(postgres_database, data, wids)
    reader = StoreReader(postgres_database)
    caplog.set_level(logging.INFO, logger="sync_engine.resume")
    try:
        # Groups of 2: the run outlives the restart (its 30 customers would take one request otherwise).
        with engine(
            data, postgres_database, private_redis.url, threads=2, workday_customers_per_group=2
        ) as running:
            running.sandbox.knobs.latency = 0.1
            run_id = running.submit(wids)
            wait_for(lambda: _synced(postgres_database, run_id) >= 5, 60, "five customers")
            private_redis.restart()
            restarted = time.monotonic()
            at_restart = versions.classify(reader.read(wids))
            assert_never_mixed(at_restart, "right after the Redis restart")
            synced_then = _synced(postgres_database, run_id)
            assert synced_then < len(wids)

            run = running.wait(run_id, timeout=90)
            print(
                f"\nRedis restarted with {synced_then} of {len(wids)} customers synced: run finished "
                f"{time.monotonic() - restarted:.1f} s later"
            )
        assert run.status is RunStatus.COMPLETED, run.error
        assert run.counts == expected_counts(data, wids)
        assert set(versions.classify(reader.read(wids)).values()) == {"new"}
        # The lost messages came back through the sweeper, not by luck.
        assert any(record.getMessage() == "Resumed an interrupted run" for record in caplog.records)
    finally:
        reader.close()


def _terminate_the_writer(database: Database, stop: threading.Event, killed: list[int]) -> None:
    """Kill the backend that is inside a customer overwrite (it has written, and its latest statement
    touches the documents), once."""
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        while not stop.is_set():
            pid = connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL "
                    "AND (query ILIKE 'INSERT INTO invoices%' OR query ILIKE 'DELETE FROM invoices%') "
                    "LIMIT 1"
                )
            ).scalar()
            if (
                pid is not None
                and connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            ):
                killed.append(int(pid))
                return
            time.sleep(0.002)


@pytest.mark.timeout(120)
def test_a_postgres_connection_dropped_mid_write_rolls_the_customer_back_and_the_run_finishes(
    postgres_database: Database, clean_redis: str, fast_job_retries: None
) -> None:
    # One customer with 4,000 invoices: its overwrite takes long enough to be caught in the act.
    data = SandboxData.generate(customers=8, seed=41, big_customer_documents=4000)
    wids = data.customer_wids
    versions = seed_old_then_mutate(postgres_database, data, wids)
    reader = StoreReader(postgres_database)
    stop = threading.Event()
    killed: list[int] = []
    watcher = threading.Thread(target=_terminate_the_writer, args=(postgres_database, stop, killed))
    watcher.start()
    try:
        with engine(data, postgres_database, clean_redis, threads=2) as running:
            run_id = running.submit(wids)
            wait_for(lambda: killed, 60, "the writing connection to be terminated")
            at_kill = versions.classify(reader.read(wids))
            assert_never_mixed(at_kill, "right after the connection was terminated")
            run = running.wait(run_id, timeout=90)
    finally:
        stop.set()
        watcher.join()
    try:
        assert run.status is RunStatus.COMPLETED, run.error
        assert run.counts == expected_counts(data, wids)
        assert set(versions.classify(reader.read(wids)).values()) == {"new"}
        with postgres_database.session() as session:
            retried = session.execute(
                select(RunItemRow.customer_wid, RunItemRow.attempts).where(
                    RunItemRow.run_id == run_id, RunItemRow.attempts > 1
                )
            ).all()
        # The terminated transaction was a customer's overwrite, which a second attempt wrote again.
        assert retried, "no customer needed a second attempt: the kill missed the overwrite"
        print(f"\nPostgreSQL backend {killed[0]} killed mid-write; written again: {retried}")
    finally:
        reader.close()
