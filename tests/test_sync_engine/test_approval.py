"""A second pair of eyes (RESYNC_APPROVAL_ABOVE), in the engine: held runs, approval by another admin only,
rejection, expiry, and one outcome however many decide at once. Both stacks (SQLite + embedded worker,
PostgreSQL + Redis + Dramatiq), the sandbox over sockets."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from kits.stack import Stack, assert_store_matches_workday, expected_counts
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from sync_engine import jobs
from sync_engine.approval import APPROVAL_TTL, ApprovalExpiry, ApprovalRefusedError, Refusal
from sync_engine.clock import utcnow
from sync_engine.domain import ApprovalDecision, BatchRun, IdentifierType, RunStatus
from sync_engine.errors import SettingsError
from sync_engine.metrics import exposition
from sync_engine.progress import RunEvent, RunEventKind
from sync_engine.service import RunService
from sync_engine.settings import Settings, read_settings
from sync_engine.store.models import RunApprovalRow

SRC = IdentifierType.SOURCE_ID
ABOVE = 3


def approving(stack: Stack) -> RunService:
    """The stack's engine with RESYNC_APPROVAL_ABOVE=3, as `open_engine` builds it from the settings."""
    return RunService(stack.database, jobs.DramatiqDispatcher(), stack.rt.events, approval_above=ABOVE)


def held(stack: Stack, service: RunService, count: int = ABOVE + 1) -> tuple[BatchRun, list[str]]:
    wids = [customer.wid for customer in stack.sandbox.data.customers[1 : 1 + count]]
    run = service.submit(SRC, wids, requested_by="cli:ana")
    assert run.status is RunStatus.PENDING_APPROVAL
    return run, wids


def test_a_run_above_the_setting_waits_and_its_requester_cannot_approve_it(stack: Stack) -> None:
    service = approving(stack)
    run, wids = held(stack, service)

    with pytest.raises(ApprovalRefusedError, match=f"You requested run {run.id}") as refused:
        service.approvals().approve(run.id, "cli:ana")

    assert refused.value.reason is Refusal.OWN_RUN
    stack.drain()  # nothing was queued: the worker has nothing to do
    now = service.get(run.id)
    assert now.status is RunStatus.PENDING_APPROVAL and now.started_at is None
    assert now.approval is not None and now.approval.decision is None and now.approval.above == ABOVE
    assert now.approval.expires_at - now.approval.held_at == APPROVAL_TTL
    assert all(stack.stored(wid) is None for wid in wids)
    assert [r.id for r in service.history(limit=5)] == [run.id]  # History shows it, Awaiting approval
    assert now.status.label == "Awaiting approval"


def test_a_run_at_the_setting_runs_without_approval(stack: Stack) -> None:
    wids = [customer.wid for customer in stack.sandbox.data.customers[1 : 1 + ABOVE]]
    run = approving(stack).submit(SRC, wids, requested_by="cli:ana")
    assert stack.wait(run.id).status is RunStatus.COMPLETED
    assert stack.service.get(run.id).approval is None


def test_another_admin_approves_and_the_run_completes(stack: Stack) -> None:
    service = approving(stack)
    run, wids = held(stack, service)

    approved = service.approvals().approve(run.id, "cli:bob")

    assert approved.status is not RunStatus.PENDING_APPROVAL
    done = stack.wait(run.id)
    assert done.status is RunStatus.COMPLETED, done.error
    assert done.counts == expected_counts(stack.sandbox.data, wids)
    assert_store_matches_workday(stack.database, stack.sandbox.data, wids)
    assert done.approval is not None
    assert done.approval.decision is ApprovalDecision.APPROVED and done.approval.decided_by == "cli:bob"
    assert done.approval.decided_at is not None and done.started_at is not None
    assert done.approval.decided_at <= done.started_at


def _runs_finished(status: str) -> float:
    """This process's count of runs finished with `status` (the engine runs in it)."""
    samples = {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in text_string_to_metric_families(exposition().decode())
        for sample in family.samples
    }
    return samples.get(("workday_resync_runs_total", (status,)), 0.0)


def test_a_rejected_run_ends_and_writes_nothing(stack: Stack) -> None:
    service = approving(stack)
    run, wids = held(stack, service)
    counted = _runs_finished("rejected")

    rejected = service.approvals().reject(run.id, "cli:bob")

    assert rejected.status is RunStatus.REJECTED and rejected.is_final and rejected.finished_at is not None
    assert rejected.approval is not None and rejected.approval.decided_by == "cli:bob"
    with pytest.raises(ApprovalRefusedError, match="already rejected by cli:bob") as late:
        service.approvals().approve(run.id, "cli:carl")
    assert late.value.reason is Refusal.DECIDED
    stack.drain()
    assert service.get(run.id).status is RunStatus.REJECTED
    assert all(stack.stored(wid) is None for wid in wids)
    assert _runs_finished("rejected") == counted + 1  # counted as every run that ends


def test_its_requester_may_reject_it_to_withdraw_it(stack: Stack) -> None:
    service = approving(stack)
    run, _ = held(stack, service)
    assert service.approvals().reject(run.id, "cli:ana").status is RunStatus.REJECTED


def test_an_unanswered_run_expires_after_a_day(stack: Stack) -> None:
    service = approving(stack)
    run, wids = held(stack, service)
    approvals = service.approvals()

    assert approvals.expire_overdue(utcnow() + APPROVAL_TTL - timedelta(minutes=1)) == []
    assert approvals.expire_overdue(utcnow() + APPROVAL_TTL + timedelta(seconds=1)) == [run.id]
    assert approvals.expire_overdue(utcnow() + APPROVAL_TTL + timedelta(seconds=2)) == []  # once

    expired = service.get(run.id)
    assert expired.status is RunStatus.EXPIRED and expired.is_final
    assert expired.approval is not None and expired.approval.decision is ApprovalDecision.EXPIRED
    with pytest.raises(ApprovalRefusedError, match="expired") as late:
        approvals.approve(run.id, "cli:bob")
    assert late.value.reason is Refusal.EXPIRED
    stack.drain()
    assert all(stack.stored(wid) is None for wid in wids)


def test_a_late_approval_is_refused_before_the_sweep_has_run(stack: Stack) -> None:
    service = approving(stack)
    run, _ = held(stack, service)
    with stack.database.session() as session:  # a day has passed: the approval's deadline is behind us
        session.execute(
            update(RunApprovalRow)
            .where(RunApprovalRow.run_id == run.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    with pytest.raises(ApprovalRefusedError, match="expired"):
        service.approvals().approve(run.id, "cli:bob")

    stack.drain()
    late = service.get(run.id)
    assert late.status is RunStatus.EXPIRED and late.started_at is None


def test_two_admins_approving_at_once_queue_the_run_once(stack: Stack) -> None:
    service = approving(stack)
    run, wids = held(stack, service)
    queued: list[RunEvent] = []
    unsubscribe = stack.rt.events.subscribe(
        lambda event: queued.append(event) if event.kind is RunEventKind.RECEIVED else None
    )
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def approve(approver: str) -> None:
        start.wait()
        try:
            service.approvals().approve(run.id, approver)
            outcomes.append("approved")
        except ApprovalRefusedError as refused:
            outcomes.append(refused.reason.value)

    # Two admins, one of them clicking twice (Slack redelivers too).
    threads = [threading.Thread(target=approve, args=(who,)) for who in ("U_B", "U_C", "U_B", "U_C")]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        unsubscribe()

    assert sorted(outcomes) == ["approved", "decided", "decided", "decided"]
    assert [event.run_id for event in queued] == [run.id]  # sent to the jobs once
    done = stack.wait(run.id)
    assert done.status is RunStatus.COMPLETED
    assert done.counts == expected_counts(stack.sandbox.data, wids)


def test_the_setting_is_off_by_default_and_a_bad_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESYNC_APPROVAL_ABOVE", raising=False)
    assert Settings(_env_file=None).resync_approval_above is None  # type: ignore[call-arg]
    monkeypatch.setenv("RESYNC_APPROVAL_ABOVE", "20")
    assert Settings(_env_file=None).resync_approval_above == 20  # type: ignore[call-arg]
    monkeypatch.setenv("RESYNC_APPROVAL_ABOVE", "-1")
    with pytest.raises(SettingsError, match="RESYNC_APPROVAL_ABOVE"):
        read_settings(Settings)


def test_unset_a_big_run_runs_without_approval(stack: Stack) -> None:
    wids = [customer.wid for customer in stack.sandbox.data.customers[:20]]
    service = RunService(stack.database, jobs.DramatiqDispatcher(), stack.rt.events, approval_above=None)
    run = service.submit(SRC, wids, requested_by="cli:ana")
    assert run.status is RunStatus.RECEIVED
    assert stack.wait(run.id).status is RunStatus.COMPLETED


def test_each_worker_process_ends_overdue_runs_on_its_own(stack: Stack) -> None:
    service = approving(stack)
    run, _ = held(stack, service)
    with stack.database.session() as session:
        session.execute(
            update(RunApprovalRow)
            .where(RunApprovalRow.run_id == run.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    finished: list[RunEvent] = []
    unsubscribe = stack.rt.events.subscribe(
        lambda event: finished.append(event) if event.kind is RunEventKind.FINISHED else None
    )
    expiry = ApprovalExpiry(service.approvals(), every=timedelta(milliseconds=50))
    expiry.start()
    try:
        assert stack.wait(run.id).status is RunStatus.EXPIRED
    finally:
        expiry.stop()
        unsubscribe()
    assert [event.run_id for event in finished] == [run.id]  # its status message is told once
