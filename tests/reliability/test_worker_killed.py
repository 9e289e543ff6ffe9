"""Worker processes die (SIGKILL) or are stopped (SIGTERM) in the middle of 50-customer runs.

Every trial: the store holds the old version of 50 customers, Workday the new one; a real
`dramatiq sync_engine.worker_boot` syncs them and is killed at a random point (while resolving, or
after a random number of customers plus a random fraction of a second, so often mid-write). At the
kill, every customer in the store is wholly old or wholly new; after a new worker starts, the run
reaches Completed, every customer is new and the counts equal Workday's.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from kits.reliability import (
    TRIALS,
    StoreReader,
    WorkerProcess,
    assert_never_mixed,
    connect_client,
    empty_store,
    seed_old_then_mutate,
    wait_for,
    worker,
    worker_environment,
)
from kits.stack import expected_counts
from sqlalchemy import select

from sync_engine.domain import IdentifierType, ItemStatus, RunStatus
from sync_engine.store.database import Database
from sync_engine.store.models import RunItemRow
from sync_engine.workday.sandbox import Sandbox, SandboxData

CUSTOMERS = 50
#: Seconds per Workday response: a run lasts a few seconds, long enough to be hit anywhere.
LATENCY = 0.08


@dataclass
class Trial:
    kill_point: str
    synced_at_kill: int
    old_at_kill: int
    new_at_kill: int
    recovery_seconds: float


def _data(seed: int) -> SandboxData:
    return SandboxData.generate(customers=CUSTOMERS, seed=seed, big_customer_documents=150)


def _synced(database: Database, run_id: int) -> int:
    with database.session() as session:
        return len(
            session.scalars(
                select(RunItemRow.id).where(
                    RunItemRow.run_id == run_id, RunItemRow.status == ItemStatus.SYNCED.value
                )
            ).all()
        )


def _one_trial(number: int, database: Database, redis_url: str, reader: StoreReader, logs: Path) -> Trial:

    redis.Redis.from_url(redis_url).flushdb()
    empty_store(database)
    rng = random.Random(1000 + number)
    data = _data(seed=200 + number)
    wids = data.customer_wids[:CUSTOMERS]
    versions = seed_old_then_mutate(database, data, wids)
    with Sandbox(data) as sandbox:
        sandbox.knobs.latency = LATENCY
        client = connect_client(sandbox, database, redis_url)
        environment = worker_environment(sandbox, database, redis_url)
        try:
            first = WorkerProcess(environment, logs / f"trial-{number}-first.log")
            try:
                run = client.service.submit(IdentifierType.SOURCE_ID, wids, requested_by="U_TRIAL")
                if rng.random() < 0.2:
                    # While the worker boots or resolves the identifiers.
                    time.sleep(rng.uniform(0.0, 2.5))
                    kill_point = "resolving"
                else:
                    target = rng.randint(1, CUSTOMERS - 8)
                    wait_for(lambda: _synced(database, run.id) >= target, 120, f"{target} customers")
                    # A group's customers are written one after another as soon as its documents are in
                    # (tens of ms each): a longer pause would often land after the run's last write.
                    time.sleep(rng.uniform(0.0, 0.05))
                    kill_point = f"after {target} customers"
            finally:
                first.kill()
            stored, synced_at_kill = reader.read_with_synced(wids, run.id)
            at_kill = versions.classify(stored)
            assert_never_mixed(at_kill, f"trial {number}, killed {kill_point}")
            # What committed is exactly what the run counted: synced customers are new, the rest old.
            assert sum(v == "new" for v in at_kill.values()) == synced_at_kill
            assert set(at_kill.values()) <= {"old", "new"}
            assert not client.service.get(run.id).is_final, "the run ended before the kill"

            started = time.monotonic()
            with worker(environment, logs / f"trial-{number}-second.log"):
                wait_for(lambda: client.service.get(run.id).is_final, 150, "the run to finish")
            recovery = time.monotonic() - started
            done = client.service.get(run.id)
            assert done.status is RunStatus.COMPLETED, done.error
            assert done.counts == expected_counts(data, wids)
            final = versions.classify(reader.read(wids))
            assert set(final.values()) == {"new"}, f"trial {number}: not all new at the end"
            return Trial(
                kill_point,
                synced_at_kill,
                sum(v == "old" for v in at_kill.values()),
                sum(v == "new" for v in at_kill.values()),
                recovery,
            )
        finally:
            client.close()


@pytest.mark.timeout(120 + 150 * TRIALS)
def test_sigkill_at_random_points_never_mixes_versions_and_every_run_finishes(
    postgres_database: Database, clean_redis: str, tmp_path: Path
) -> None:
    reader = StoreReader(postgres_database)
    trials: list[Trial] = []
    try:
        for number in range(TRIALS):
            trials.append(_one_trial(number, postgres_database, clean_redis, reader, tmp_path))
    finally:
        reader.close()
        print(f"\nSIGKILL trials: {len(trials)} of {TRIALS} ({CUSTOMERS} customers each)")
        for index, trial in enumerate(trials):
            print(
                f"  trial {index}: killed {trial.kill_point} ({trial.synced_at_kill} synced); store at the "
                f"kill {trial.new_at_kill} new / {trial.old_at_kill} old / 0 mixed; finished "
                f"{trial.recovery_seconds:.1f} s after the new worker started"
            )
    recoveries = sorted(trial.recovery_seconds for trial in trials)
    print(f"  recovery: min {recoveries[0]:.1f} s, max {recoveries[-1]:.1f} s")


@pytest.mark.timeout(180)
def test_sigterm_lets_in_flight_customers_finish_and_the_rest_resume(
    postgres_database: Database, clean_redis: str, tmp_path: Path
) -> None:
    data = _data(seed=77)
    wids = data.customer_wids[:CUSTOMERS]
    versions = seed_old_then_mutate(postgres_database, data, wids)
    reader = StoreReader(postgres_database)
    with Sandbox(data) as sandbox:
        sandbox.knobs.latency = LATENCY
        client = connect_client(sandbox, postgres_database, clean_redis)
        # Each customer alone, as before groups: a run this small in groups is over before the SIGTERM
        # lands (a group of 50 is all in flight). The SIGKILL trials above kill groups mid-fetch.
        environment = worker_environment(
            sandbox, postgres_database, clean_redis, WORKDAY_CUSTOMERS_PER_GROUP="1"
        )
        try:
            first = WorkerProcess(environment, tmp_path / "first.log")
            run = client.service.submit(IdentifierType.SOURCE_ID, wids, requested_by="U_TERM")
            wait_for(lambda: _synced(postgres_database, run.id) >= 10, 60, "ten customers")
            with postgres_database.session() as session:
                in_flight = set(
                    session.scalars(
                        select(RunItemRow.id).where(
                            RunItemRow.run_id == run.id, RunItemRow.lease_owner.is_not(None)
                        )
                    )
                )
            stopped = time.monotonic()
            exit_code = first.terminate()
            print(f"\nSIGTERM: worker exited {exit_code} after {time.monotonic() - stopped:.1f} s")
            assert exit_code == 0, "the worker did not stop gracefully"
            assert in_flight, "nothing was in flight at SIGTERM"

            with postgres_database.session() as session:
                items = {
                    row.id: row
                    for row in session.scalars(select(RunItemRow).where(RunItemRow.run_id == run.id))
                }
            # In-flight customers finished (a graceful stop waits for them); nothing stays leased.
            assert all(items[item_id].status == ItemStatus.SYNCED.value for item_id in in_flight)
            assert [row.id for row in items.values() if row.lease_owner is not None] == []
            at_stop = versions.classify(reader.read(wids))
            assert_never_mixed(at_stop, "after SIGTERM")
            synced = sum(row.status == ItemStatus.SYNCED.value for row in items.values())
            assert sum(v == "new" for v in at_stop.values()) == synced < CUSTOMERS
            assert client.service.get(run.id).status is RunStatus.IN_PROGRESS

            started = time.monotonic()
            with worker(environment, tmp_path / "second.log"):
                wait_for(lambda: client.service.get(run.id).is_final, 120, "the run to finish")
            print(
                f"SIGTERM: {synced} customers synced before the stop, the other {CUSTOMERS - synced} "
                f"{time.monotonic() - started:.1f} s after a new worker started"
            )
            done = client.service.get(run.id)
            assert done.status is RunStatus.COMPLETED, done.error
            assert done.counts == expected_counts(data, wids)
            assert set(versions.classify(reader.read(wids)).values()) == {"new"}
        finally:
            client.close()
            reader.close()
