"""A worker process SIGKILLed in the middle of a preview, an apply or a restore of 50 customers.

Preview: the store holds the old version, Workday the new; a preview killed mid-way has written no
customer, and after a restart it finishes with every customer staged with its change.

Restore: the store holds the old version of 50 customers, a sync run overwrites them with Workday's new
one (keeping the old as its previous copies), then a restore of that run is killed after a random number
of customers plus a random fraction of a second (often mid-transaction). Apply: the store holds the old
version, a preview stages Workday's new one, and its apply is killed the same way. At the kill, every
customer is wholly as it was or wholly written, and exactly the written ones are counted; after a new
worker starts, the run reaches Completed with every customer written and the counts of what it wrote.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

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

from sync_engine.domain import IdentifierType, RunCounts, RunKind, RunStatus
from sync_engine.preview_plan import plan_apply, preview_report
from sync_engine.restore_plan import plan_restore
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import Sandbox, SandboxData

CUSTOMERS = 50


def _counts(version: dict[str, Any]) -> RunCounts:
    contents = version.values()
    return RunCounts(
        customers=len(version),
        invoices=sum(len(content[1]) for content in contents),
        credit_notes=sum(len(content[2]) for content in contents),
        payments=sum(len(content[3]) for content in contents),
    )


def _one_trial(
    kind: RunKind, number: int, database: Database, redis_url: str, reader: StoreReader, logs: Path
) -> str:
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
            # One thread: the run lasts long enough to be hit anywhere.
            first = WorkerProcess(environment, logs / f"{kind}-{number}-first.log", threads=1)
            try:
                if kind is RunKind.RESTORE:
                    synced = client.service.submit(IdentifierType.SOURCE_ID, wids, requested_by="U_TRIAL")
                    wait_for(lambda: client.service.get(synced.id).is_final, 120, "the sync to finish")
                    assert client.service.get(synced.id).status is RunStatus.COMPLETED
                    assert set(versions.classify(reader.read(wids)).values()) == {"new"}
                    plan = plan_restore(database, synced.id)
                    assert len(plan.to_restore) == CUSTOMERS and not plan.overwritten_since
                    run = client.service.submit_restore(plan, requested_by="cli:trial")
                    before, after = "new", "old"
                elif kind is RunKind.PREVIEW:
                    run = client.service.submit(
                        IdentifierType.SOURCE_ID, wids, requested_by="U_TRIAL", kind=RunKind.PREVIEW
                    )
                    before = after = "old"  # a preview writes no customer, killed or not
                else:
                    previewed = client.service.submit(
                        IdentifierType.SOURCE_ID, wids, requested_by="U_TRIAL", kind=RunKind.PREVIEW
                    )
                    wait_for(lambda: client.service.get(previewed.id).is_final, 120, "the preview to finish")
                    assert set(versions.classify(reader.read(wids)).values()) == {"old"}
                    applying = plan_apply(database, previewed.id)
                    assert len(applying.to_apply) == CUSTOMERS and not applying.written_since
                    run = client.service.submit_apply(applying, requested_by="cli:trial")
                    before, after = "old", "new"
                target = rng.randint(1, CUSTOMERS - 15)

                def written() -> bool:
                    return reader.read_with_synced([], run.id)[1] >= target

                wait_for(written, 60, f"{target} customers written", every=0.01)
                time.sleep(rng.uniform(0.0, 0.05))
            finally:
                first.kill()
            stored, written_at_kill = reader.read_with_synced(wids, run.id)
            at_kill = versions.classify(stored)
            assert_never_mixed(at_kill, f"{kind} trial {number}, killed after {target} written")
            # What committed is exactly what the run counted: written customers changed, the rest not.
            if kind is not RunKind.PREVIEW:
                assert sum(verdict == after for verdict in at_kill.values()) == written_at_kill
            assert set(at_kill.values()) <= {before, after}
            assert not client.service.get(run.id).is_final, "the run ended before the kill"

            started = time.monotonic()
            with worker(environment, logs / f"{kind}-{number}-second.log"):
                wait_for(lambda: client.service.get(run.id).is_final, 150, f"the {kind} to finish")
            recovery = time.monotonic() - started
            done = client.service.get(run.id)
            assert done.status is RunStatus.COMPLETED, done.error
            assert done.counts == _counts(versions.new if kind is not RunKind.RESTORE else versions.old)
            assert set(versions.classify(reader.read(wids)).values()) == {after}
            if kind is RunKind.PREVIEW:
                # Every customer staged once, with its whole change (each gained an invoice).
                report = preview_report(database, run.id)
                assert sorted(diff.customer_wid for diff in report.customers) == sorted(wids)
                assert all(diff.kinds["invoices"].new == 1 for diff in report.customers)
            done_verb = "staged" if kind is RunKind.PREVIEW else "written"
            return (
                f"killed after {written_at_kill} {done_verb} (target {target}); finished {recovery:.1f} s "
                "after the new worker started"
            )
        finally:
            client.close()


@pytest.mark.parametrize("kind", [RunKind.PREVIEW, RunKind.APPLY, RunKind.RESTORE])
@pytest.mark.timeout(60 + 240 * TRIALS)
def test_sigkill_mid_preview_apply_or_restore_never_mixes_versions_and_the_run_finishes(
    kind: RunKind, postgres_database: Database, clean_redis: str, tmp_path: Path
) -> None:
    reader = StoreReader(postgres_database)
    outcomes: list[str] = []
    try:
        for number in range(TRIALS):
            outcomes.append(_one_trial(kind, number, postgres_database, clean_redis, reader, tmp_path))
    finally:
        reader.close()
        print(f"\nSIGKILL mid-{kind}: {len(outcomes)} of {TRIALS} trials ({CUSTOMERS} customers each)")
        for index, outcome in enumerate(outcomes):
            print(f"  trial {index}: {outcome}")
