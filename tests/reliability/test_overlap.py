"""Runs overlap and messages come twice: two runs sharing customers at once; the same run's Dramatiq
messages delivered twice; a slow but healthy queue (nothing is lost, so nothing may be sent again)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from kits.reliability import engine, wait_for
from kits.stack import assert_store_matches_workday, expected_counts
from sqlalchemy import func, select

import sync_engine.broker
from sync_engine import jobs, sync
from sync_engine.domain import RunStatus
from sync_engine.store.database import Database
from sync_engine.store.models import CustomerRow, RunItemRow
from sync_engine.workday.sandbox import SandboxData


@pytest.mark.timeout(90)
def test_two_runs_sharing_customers_submitted_together_both_complete(
    postgres_database: Database, clean_redis: str, fast_job_retries: None
) -> None:
    data = SandboxData.generate(customers=40, seed=23, big_customer_documents=600)
    wids = data.customer_wids
    first, second = wids[:30], wids[10:40]  # twenty customers in both, the big one in the first only
    with engine(data, postgres_database, clean_redis, threads=6) as running:
        running.sandbox.knobs.latency = 0.02
        run_ids = [running.submit(first, "U_ONE"), running.submit(second, "U_TWO")]
        runs = [running.wait(run_id, timeout=80) for run_id in run_ids]
    for run, customers in zip(runs, (first, second), strict=True):
        assert run.status is RunStatus.COMPLETED, run.error
        assert run.counts == expected_counts(data, customers)
    assert_store_matches_workday(postgres_database, data, wids)
    with postgres_database.session() as session:
        assert session.scalar(select(func.count()).select_from(CustomerRow)) == len(wids)
        # Each write went through at its first attempt: writers of one customer queued on its row lock
        # instead of failing (a unique violation) or deadlocking and retrying.
        attempts = session.scalars(select(RunItemRow.attempts).where(RunItemRow.run_id.in_(run_ids)))
        assert set(attempts) == {1}


@pytest.mark.timeout(90)
def test_the_same_messages_delivered_twice_count_once_and_ask_workday_once(
    postgres_database: Database, clean_redis: str, fast_job_retries: None
) -> None:
    data = SandboxData.generate(customers=20, seed=29, big_customer_documents=250)
    wids = data.customer_wids
    with engine(data, postgres_database, clean_redis, threads=4) as running:
        stats = running.sandbox.stats
        # The reference: one delivery of each message.
        once = running.wait(running.submit(wids))
        expected_requests = stats.by_operation()
        expected_requests.pop("token", None)
        assert once.status is RunStatus.COMPLETED

        stats.reset()
        running.sandbox.knobs.latency = 0.02
        run_id = running.submit(wids)
        jobs.start_run.send(run_id)  # start_run delivered twice, at once
        wait_for(lambda: running.service.get(run_id).resolved, 30, "the identifiers to resolve")
        with postgres_database.session() as session:
            items = list(session.scalars(select(RunItemRow.id).where(RunItemRow.run_id == run_id)))
        # The groups start_run sends (the reference run stored no customer large enough to go alone).
        groups = sync.plan_groups(running.rt, sorted(items))
        for group in groups:  # every sync_customers delivered a second time while the run works
            jobs.sync_customers.send(group)
        twice = running.wait(run_id)
        for group in groups:  # and a third time, after the run finished
            jobs.sync_customers.send(group)
        jobs.start_run.send(run_id)
        running.drain()
        requests = stats.by_operation()
        requests.pop("token", None)
    print(f"\nDelivered twice: requests {requests}, once: {expected_requests}")
    assert twice.status is RunStatus.COMPLETED
    assert twice.counts == once.counts == expected_counts(data, wids)
    assert running.service.get(run_id).counts == twice.counts
    assert requests == expected_requests


@pytest.mark.timeout(90)
def test_a_slow_healthy_queue_is_not_sent_again(
    postgres_database: Database,
    clean_redis: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Items wait in the queue longer than the sweeper's quiet period while one thread works through
    # them: nothing is lost, so the sweeper must not send them again (each resend is a wasted message,
    # and on a long batch a flood of them).
    monkeypatch.setattr(sync_engine.broker, "SWEEP_EVERY", timedelta(seconds=0.2))
    monkeypatch.setattr(sync_engine.broker, "QUIET_FOR", timedelta(seconds=1))
    data = SandboxData.generate(customers=16, seed=37, big_customer_documents=30)
    caplog.set_level(logging.INFO, logger="sync_engine")
    with engine(data, postgres_database, clean_redis, threads=1) as running:
        running.sandbox.knobs.latency = 0.1
        run = running.wait(running.submit(data.customer_wids), timeout=80)
    assert run.status is RunStatus.COMPLETED, run.error
    resumed = [r for r in caplog.records if r.getMessage() == "Resumed an interrupted run"]
    skipped = [r for r in caplog.records if r.getMessage() == "Item already synced or held by another worker"]
    print(f"\nSlow queue: {len(resumed)} resumes, {len(skipped)} redundant deliveries")
    assert resumed == [] and skipped == []
