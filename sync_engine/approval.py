"""A second pair of eyes (RESYNC_APPROVAL_ABOVE): a run of more customers than the setting, once
confirmed, waits in *Awaiting approval* until another admin approves it (it is then queued exactly as a
confirmed run is) or rejects it, or until it expires (`APPROVAL_TTL`).

The requester cannot approve their own run; they may reject it, which withdraws it (nothing was written).
Every decision is one conditional update in the store (`sync_engine.store.approvals`), so two admins
clicking at once, or a click delivered twice, give one outcome; a late approval is refused at the click
even before the periodic sweep (`ApprovalExpiry`) has marked the run expired.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from sync_engine.clock import utcnow
from sync_engine.domain import ApprovalDecision, BatchRun, RunStatus
from sync_engine.errors import ResyncError
from sync_engine.progress import RunEvents
from sync_engine.repeating_task import Periodic
from sync_engine.store import approvals, runs
from sync_engine.store.database import Database
from sync_engine.sync import report_finished

__all__ = [
    "APPROVAL_TTL",
    "EXPIRY_SWEEP_EVERY",
    "ApprovalExpiry",
    "ApprovalRefusedError",
    "ApprovalService",
    "Refusal",
    "approval_summary",
    "hold_if_required",
    "hold_in",
]

log = logging.getLogger(__name__)

#: How long a run waits for its second approval before it ends Expired.
APPROVAL_TTL = timedelta(hours=24)
#: How often each worker process ends the runs whose approval expired (a click after expiry is refused
#: anyway; the sweep brings the status message and history up to date).
EXPIRY_SWEEP_EVERY = timedelta(minutes=1)


class Refusal(StrEnum):
    """Why an approval or rejection changed nothing (front ends word it their own way)."""

    OWN_RUN = "own_run"
    EXPIRED = "expired"
    DECIDED = "decided"
    NOT_AWAITING = "not_awaiting"


class ApprovalRefusedError(ResyncError):
    """An approval or rejection that cannot be made; the message says why and that nothing changed."""

    def __init__(self, message: str, run_id: int, reason: Refusal) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.reason = reason


def hold_if_required(database: Database, run_id: int, above: int | None, now: datetime) -> bool:
    """Hold a draft run for approval if it names more than `above` customers (None: never); True if held."""
    if above is None:
        return False
    with database.session() as session:
        return hold_in(session, run_id, above, now)


def hold_in(session: Session, run_id: int, above: int, now: datetime) -> bool:
    """`hold_if_required` in the caller's transaction (that storing the run, for an apply run)."""
    held = approvals.hold(session, run_id, now, above=above, expires_at=now + APPROVAL_TTL)
    if held:
        log.info("Run awaits approval", extra={"run_id": run_id, "above": above})
    return held


class ApprovalService:
    """Approve, reject and expire runs awaiting approval; `queue(run_id)` sends an approved run to the
    jobs exactly as confirming one does (`RunService`)."""

    def __init__(self, database: Database, events: RunEvents, queue: Callable[[int], None]) -> None:
        self._database = database
        self._events = events
        self._queue = queue

    def approve(self, run_id: int, approver: str) -> BatchRun:
        """Queue the run, approved by `approver`; `ApprovalRefusedError` (nothing changed) when the
        approver is its requester, or it does not await approval (decided, expired, never held)."""
        now = utcnow()
        with self._database.session() as session:
            run = runs.get_run(session, run_id)
            if run.status is RunStatus.PENDING_APPROVAL and run.requested_by == approver:
                raise ApprovalRefusedError(
                    f"You requested run {run_id}: another admin must approve it. Nothing was changed.",
                    run_id,
                    Refusal.OWN_RUN,
                )
            approved = approvals.approve(session, run_id, approver, now)
        if not approved:
            raise self._why_not(run_id, now, "approve")
        log.info("Run approved", extra={"run_id": run_id, "approved_by": approver})
        self._queue(run_id)
        return self._get(run_id)

    def reject(self, run_id: int, by: str) -> BatchRun:
        """End the run Rejected (nothing is written); `ApprovalRefusedError` when it does not await
        approval. Its requester may reject it: that withdraws it."""
        now = utcnow()
        with self._database.session() as session:
            rejected = approvals.reject(session, run_id, by, now)
        if not rejected:
            raise self._why_not(run_id, now, "reject")
        log.info("Run rejected", extra={"run_id": run_id, "rejected_by": by})
        report_finished(self._database, self._events, run_id)  # counted and logged as every run that ends
        return self._get(run_id)

    def expire_overdue(self, now: datetime | None = None) -> list[int]:
        """End every run whose approval expired before `now`; the runs this call ended."""
        now = now or utcnow()
        with self._database.session() as session:
            candidates = approvals.overdue(session, now)
        expired = [run_id for run_id in candidates if self._expire(run_id, now)]
        if expired:
            log.info("Approvals expired", extra={"runs": len(expired)})
        return expired

    def _expire(self, run_id: int, now: datetime) -> bool:
        with self._database.session() as session:
            expired = approvals.expire(session, run_id, now)
        if expired:
            report_finished(self._database, self._events, run_id)
        return expired

    def _why_not(self, run_id: int, now: datetime, verb: str) -> ApprovalRefusedError:
        """Why `verb` changed nothing; a run found expired meanwhile is ended Expired first."""
        self._expire(run_id, now)
        run = self._get(run_id)
        approval = run.approval
        unchanged = "Nothing was changed."
        if approval is None or (approval.decision is None and run.status is not RunStatus.PENDING_APPROVAL):
            return ApprovalRefusedError(
                f"Run {run_id} does not await approval: nothing to {verb}.", run_id, Refusal.NOT_AWAITING
            )
        if approval.decision is ApprovalDecision.EXPIRED:
            hours = int(APPROVAL_TTL.total_seconds() // 3600)
            return ApprovalRefusedError(
                f"Run {run_id} expired: nobody approved it within {hours} hours. {unchanged} "
                "Request it again if it is still needed.",
                run_id,
                Refusal.EXPIRED,
            )
        if approval.decision is not None:
            return ApprovalRefusedError(
                f"Run {run_id} was already {approval.decision.value} by {approval.decided_by}. {unchanged}",
                run_id,
                Refusal.DECIDED,
            )
        # Still waiting, not expired: only a requester's own approval fails the update without a reason
        # found above (the check before it raced a change of nothing); say so rather than guess.
        return ApprovalRefusedError(
            f"You requested run {run_id}: another admin must approve it. {unchanged}", run_id, Refusal.OWN_RUN
        )

    def _get(self, run_id: int) -> BatchRun:
        with self._database.session() as session:
            return runs.get_run(session, run_id)


def approval_summary(run: BatchRun) -> str | None:
    """Who approved or rejected the run, or until when it waits, in one line for the terminal's history;
    None for a run that needed no approval."""
    approval = run.approval
    if approval is None:
        return None
    if approval.decision is None:
        return f"awaits approval until {approval.expires_at:%Y-%m-%d %H:%M} UTC"
    if approval.decided_by is None:
        return f"approval expired at {approval.expires_at:%Y-%m-%d %H:%M} UTC"
    at = f" at {approval.decided_at:%Y-%m-%d %H:%M} UTC" if approval.decided_at else ""
    return f"{approval.decision.value} by {approval.decided_by}{at}"


class ApprovalExpiry:
    """Ends expired approvals at once and then every `every`, on a daemon thread; every worker process
    runs one (each run is ended once: the store's conditional update)."""

    def __init__(self, service: ApprovalService, *, every: timedelta = EXPIRY_SWEEP_EVERY) -> None:
        self._service = service
        self._periodic = Periodic("approval-expiry", self._round, every=every, immediately=True)

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def _round(self) -> None:
        self._service.expire_overdue()
