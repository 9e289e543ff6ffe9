"""Workday misbehaves under whole runs, through the Redis broker and a real Dramatiq worker: throttling,
plain 500s, timeouts and a slow page are ridden out with exact counts; validation faults are never
retried; revoked credentials end the run in Error without a half-written customer."""

from __future__ import annotations

import time

import pytest
from kits.reliability import StoreReader, assert_never_mixed, engine, seed_old_then_mutate, wait_for
from kits.stack import assert_store_matches_workday, expected_counts
from sqlalchemy import select

from sync_engine.domain import IdentifierType, ItemStatus, RunStatus
from sync_engine.run_errors import NOTHING_RESOLVED
from sync_engine.store.database import Database
from sync_engine.store.models import RunItemRow
from sync_engine.workday import RetryPolicy
from sync_engine.workday.sandbox import SandboxData

#: The product's six attempts per request, with test-sized waits.
PATIENT = RetryPolicy(attempts=6, initial_wait=0.01, max_wait=0.05)


@pytest.mark.timeout(120)
def test_throttling_500s_timeouts_and_a_slow_page_are_ridden_out_with_exact_counts(
    postgres_database: Database, clean_redis: str, fast_job_retries: None
) -> None:
    data = SandboxData.generate(customers=30, seed=13, big_customer_documents=450)
    wids = data.customer_wids
    # Pages of 20: customers share requests, so the run takes about a hundred for the faults to land on.
    pages = {"workday_invoices_page_size": 20, "workday_payments_page_size": 20}
    with engine(data, postgres_database, clean_redis, retry=PATIENT, workday_timeout=0.5, **pages) as running:
        knobs = running.sandbox.knobs
        knobs.rest_429_rate = 0.2
        knobs.soap_500_rate = 0.1
        knobs.timeout_rate = 0.03
        knobs.hang_seconds = 1.0
        knobs.slow_page_seconds = 0.3
        knobs.fault_seed = 5
        started = time.monotonic()
        run = running.wait(running.submit(wids), timeout=100)
        stats = running.sandbox.stats
        wait_for(lambda: stats.count(outcome="timeout"), 5, "held requests to be logged")
        print(
            f"\nWorkday faults: run of {len(wids)} customers {run.status.label} in "
            f"{time.monotonic() - started:.1f} s; requests {stats.by_operation()}, "
            f"outcomes {stats.by_outcome()}"
        )
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.counts == expected_counts(data, wids)
    assert_store_matches_workday(postgres_database, data, wids)
    # The faults did happen, on both APIs.
    assert stats.count("invoices", "throttled") > 0
    assert stats.count("Get_Customer_Payments", "throttled") + stats.count("Get_Customers", "throttled") > 0
    assert stats.count(outcome="timeout") > 0


@pytest.mark.timeout(60)
def test_validation_faults_are_never_retried(
    postgres_database: Database, clean_redis: str, fast_job_retries: None
) -> None:
    data = SandboxData.generate(customers=10, seed=17, big_customer_documents=20)
    good = [c.customer_id for c in data.customers[:4] if c.customer_id]
    with engine(data, postgres_database, clean_redis) as running:
        stats = running.sandbox.stats
        service = running.service

        # Unknown references: one fault naming them, then the rest asked once; nothing asked again.
        mixed = service.submit(IdentifierType.REFERENCE, [*good, "C-999998", "C-999999"], requested_by="U1")
        done = running.wait(mixed.id)
        assert done.status is RunStatus.COMPLETED and done.unresolved == ["C-999998", "C-999999"]
        assert stats.count("Get_Customers") == 2
        assert stats.count("Get_Customers", "fault") == 1

        # Nothing resolves: one request, one fault, and the run ends in Error (the job is not retried).
        stats.reset()
        none = service.submit(IdentifierType.REFERENCE, ["C-999997", "C-999996"], requested_by="U1")
        failed = running.wait(none.id)
        time.sleep(0.5)  # a retry, were there one, would come within milliseconds here
        assert failed.status is RunStatus.ERROR and failed.error == NOTHING_RESOLVED
        assert stats.by_operation() == {"Get_Customers": 1}
        assert stats.count("Get_Customers", "fault") == 1


@pytest.mark.timeout(90)
def test_credentials_revoked_mid_run_end_it_in_error_with_nothing_half_written(
    postgres_database: Database, clean_redis: str, fast_job_retries: None
) -> None:
    data = SandboxData.generate(customers=30, seed=19, big_customer_documents=200)
    wids = data.customer_wids
    versions = seed_old_then_mutate(postgres_database, data, wids)
    reader = StoreReader(postgres_database)
    try:
        # Groups of 3: the run writes customers group by group, so the revocation comes mid-run.
        with engine(
            data, postgres_database, clean_redis, threads=2, workday_customers_per_group=3
        ) as running:
            running.sandbox.knobs.latency = 0.05
            # Access tokens live 2 s: the revocation is met by a refresh, as it would be in production.
            running.sandbox.knobs.token_lifetime = 2.0
            run_id = running.submit(wids)
            wait_for(lambda: running.service.get(run_id).counts.customers >= 5, 60, "five customers")
            running.sandbox.knobs.revoked = True
            run = running.wait(run_id, timeout=60)
            time.sleep(0.5)  # let any straggling job finish before reading the store
            with postgres_database.session() as session:
                statuses = dict(
                    session.execute(
                        select(RunItemRow.customer_wid, RunItemRow.status).where(RunItemRow.run_id == run_id)
                    ).all()
                )
        verdicts = versions.classify(reader.read(wids))
    finally:
        reader.close()
    print(f"\nCredentials revoked: {run.status.label}: {run.error}")
    assert run.status is RunStatus.ERROR
    assert run.error is not None
    assert "refresh token is unknown, expired or revoked; set a new WORKDAY_REFRESH_TOKEN" in run.error
    assert "The run stopped" in run.error
    assert_never_mixed(verdicts, "after the revoked run")
    synced = [wid for wid in wids if statuses[wid] == ItemStatus.SYNCED.value]
    assert 5 <= len(synced) < len(wids)
    # Synced customers are new and counted; every other one is exactly as it was.
    assert {wid for wid, verdict in verdicts.items() if verdict == "new"} == set(synced)
    assert run.counts == expected_counts(data, synced)
    assert all(statuses[wid] in (ItemStatus.SYNCED.value, ItemStatus.FAILED.value) for wid in wids)
