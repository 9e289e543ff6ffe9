"""A worker process SIGKILLed in the middle of a restore of 50 customers.

Every trial: the store holds the old version of 50 customers, a sync run overwrites them with Workday's
new one (keeping the old as its previous copies), then a restore of that run is killed after a random
number of customers plus a random fraction of a second (often mid-transaction). At the kill, every
customer is wholly new (not restored yet) or wholly old (restored), and exactly the restored ones are
counted; after a new worker starts, the restore reaches Completed with every customer old again and the
counts of the old version.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
import redis
from kits.reliability import (
    TRIALS,
    StoreReader,
    Versions,
    WorkerProcess,
    assert_never_mixed,
    connect_client,
    empty_store,
    seed_old_then_mutate,
    wait_for,
    worker,
    worker_environment,
)

from sync_engine.domain import IdentifierType, RunCounts, RunStatus
from sync_engine.restore_plan import plan_restore
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import Sandbox, SandboxData

CUSTOMERS = 50


def _old_counts(versions: Versions) -> RunCounts:
    contents = versions.old.values()
    return RunCounts(
        customers=len(versions.old),
        invoices=sum(len(content[1]) for content in contents),
        credit_notes=sum(len(content[2]) for content in contents),
        payments=sum(len(content[3]) for content in contents),
    )


def _one_trial(number: int, database: Database, redis_url: str, reader: StoreReader, logs: Path) -> str:
    redis.Redis.from_url(redis_url).flushdb()
    empty_store(database)
    rng = random.Random(2000 + number)
    data = SandboxData.generate(customers=CUSTOMERS, seed=300 + number, big_customer_documents=400)
    wids = data.customer_wids[:CUSTOMERS]
    versions = seed_old_then_mutate(database, data, wids)
    with Sandbox(data) as sandbox:
        client = connect_client(sandbox, database, redis_url)
        environment = worker_environment(sandbox, database, redis_url)
        try:
            # One thread: the restore lasts long enough to be hit anywhere.
            first = WorkerProcess(environment, logs / f"trial-{number}-first.log", threads=1)
            try:
                synced = client.service.submit(IdentifierType.SOURCE_ID, wids, requested_by="U_TRIAL")
                wait_for(lambda: client.service.get(synced.id).is_final, 120, "the sync to finish")
                assert client.service.get(synced.id).status is RunStatus.COMPLETED
                assert set(versions.classify(reader.read(wids)).values()) == {"new"}

                plan = plan_restore(database, synced.id)
                assert len(plan.to_restore) == CUSTOMERS and not plan.overwritten_since
                run = client.service.submit_restore(plan, requested_by="cli:trial")
                target = rng.randint(1, CUSTOMERS - 15)

                def restored() -> bool:
                    return reader.read_with_synced([], run.id)[1] >= target

                wait_for(restored, 60, f"{target} customers restored", every=0.01)
                time.sleep(rng.uniform(0.0, 0.05))
            finally:
                first.kill()
            stored, restored_at_kill = reader.read_with_synced(wids, run.id)
            at_kill = versions.classify(stored)
            assert_never_mixed(at_kill, f"trial {number}, killed after {target} restored")
            # What committed is exactly what the run counted: restored customers are old, the rest new.
            assert sum(verdict == "old" for verdict in at_kill.values()) == restored_at_kill
            assert set(at_kill.values()) <= {"old", "new"}
            assert not client.service.get(run.id).is_final, "the restore ended before the kill"

            started = time.monotonic()
            with worker(environment, logs / f"trial-{number}-second.log"):
                wait_for(lambda: client.service.get(run.id).is_final, 150, "the restore to finish")
            recovery = time.monotonic() - started
            done = client.service.get(run.id)
            assert done.status is RunStatus.COMPLETED, done.error
            assert done.counts == _old_counts(versions)
            assert set(versions.classify(reader.read(wids)).values()) == {"old"}
            return (
                f"killed after {restored_at_kill} restored (target {target}); finished {recovery:.1f} s "
                "after the new worker started"
            )
        finally:
            client.close()


@pytest.mark.timeout(60 + 240 * TRIALS)
def test_sigkill_mid_restore_never_mixes_versions_and_the_restore_finishes(
    postgres_database: Database, clean_redis: str, tmp_path: Path
) -> None:
    reader = StoreReader(postgres_database)
    outcomes: list[str] = []
    try:
        for number in range(TRIALS):
            outcomes.append(_one_trial(number, postgres_database, clean_redis, reader, tmp_path))
    finally:
        reader.close()
        print(f"\nSIGKILL mid-restore: {len(outcomes)} of {TRIALS} trials ({CUSTOMERS} customers each)")
        for index, outcome in enumerate(outcomes):
            print(f"  trial {index}: {outcome}")
