"""What a front end's buttons do with a finished preview: apply it (as an apply run) or discard it.

A preview is decided once: the decision is a row keyed by the preview (`store.preview_decisions`), stored
in the same transaction as the apply run it queues or the dropping of its staged data, so of two clicks,
however they arrive (a double click, Slack's redelivery, two processes), the first stores the decision and
the other finds it. A preview that is expired, not finished, or has nothing left to apply is refused with
a message and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync_engine.clock import utcnow
from sync_engine.domain import BatchRun, RunStatus
from sync_engine.preview_diff import CustomerDiff
from sync_engine.preview_plan import ApplyPlan, PreviewRefusedError, PreviewReport, plan_apply, preview_report
from sync_engine.store import preview_decisions, runs, staged_snapshots
from sync_engine.store.database import Database

__all__ = [
    "ApplyOutcome",
    "PreviewAction",
    "PreviewDecision",
    "PreviewDecisions",
    "PreviewExpiredError",
    "PreviewView",
]


class PreviewAction(StrEnum):
    APPLY = "apply"
    DISCARD = "discard"


class PreviewExpiredError(PreviewRefusedError):
    """The preview's staged data expired (`RESYNC_PREVIEW_TTL`): it can no longer be applied."""

    def __init__(self, run_id: int, expired_at: datetime | None) -> None:
        self.run_id = run_id
        self.expired_at = expired_at
        super().__init__(f"Preview {run_id} expired: run a new preview.")


@dataclass(frozen=True, slots=True)
class PreviewDecision:
    preview_run_id: int
    action: PreviewAction
    decided_by: str
    decided_at: datetime
    #: The apply run it queued (apply only).
    apply_run_id: int | None


@dataclass(frozen=True, slots=True)
class PreviewView:
    """A preview as its status message shows it: the diff, and what was decided about it."""

    report: PreviewReport
    decision: PreviewDecision | None = None
    #: Customers another run wrote since the preview, which its apply left out.
    left_out: list[CustomerDiff] = field(default_factory=list)
    #: Its apply run waits for a second admin's approval (RESYNC_APPROVAL_ABOVE).
    apply_awaits_approval: bool = False


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    decision: PreviewDecision
    #: Whether this call applied it (False: an earlier click decided, as `decision` says).
    decided_now: bool


class SubmitApply(Protocol):
    """`RunService.submit_apply` (a protocol: the service module imports this one)."""

    def __call__(
        self,
        plan: ApplyPlan,
        requested_by: str,
        *,
        slack_channel: str | None = None,
        record: Callable[[Session, int], None] | None = None,
    ) -> BatchRun: ...


class PreviewDecisions:
    def __init__(self, database: Database, submit_apply: SubmitApply) -> None:
        self._database = database
        self._submit_apply = submit_apply

    def view(self, run_id: int) -> PreviewView:
        """The preview's diff and decision as they stand (`PreviewRefusedError`: not a preview)."""
        report = preview_report(self._database, run_id)
        decision = self.decision(run_id)
        left_out: list[CustomerDiff] = []
        awaits_approval = False
        if decision is not None and decision.apply_run_id is not None:
            with self._database.session() as session:
                apply_run = runs.get_run(session, decision.apply_run_id)
            applied = set(apply_run.identifiers)
            left_out = [diff for diff in report.customers if diff.customer_wid not in applied]
            awaits_approval = apply_run.status is RunStatus.PENDING_APPROVAL
        return PreviewView(report, decision, left_out, awaits_approval)

    def decision(self, run_id: int) -> PreviewDecision | None:
        with self._database.session() as session:
            row = preview_decisions.decision_of(session, run_id)
            if row is None:
                return None
            action, by, at = PreviewAction(row.action), row.decided_by, row.decided_at
            return PreviewDecision(row.preview_run_id, action, by, at, row.apply_run_id)

    def apply(self, run_id: int, requested_by: str, *, slack_channel: str | None) -> ApplyOutcome:
        """Queue the apply run of preview `run_id`, once; the customers another run wrote since are left
        out (`view(...).left_out`)."""
        if (decided := self.decision(run_id)) is not None:
            return ApplyOutcome(decided, False)
        try:
            plan = self._plan(run_id)
        except PreviewRefusedError:
            if (decided := self.decision(run_id)) is not None:
                return ApplyOutcome(decided, False)  # discarded meanwhile, its staged data dropped
            raise
        now = utcnow()

        def record(session: Session, apply_run_id: int) -> None:
            preview_decisions.decide(
                session,
                preview_run_id=run_id,
                action=PreviewAction.APPLY.value,
                decided_by=requested_by,
                now=now,
                apply_run_id=apply_run_id,
            )

        try:
            run = self._submit_apply(plan, requested_by, slack_channel=slack_channel, record=record)
        except IntegrityError:
            return ApplyOutcome(self._decided(run_id), False)
        return ApplyOutcome(PreviewDecision(run_id, PreviewAction.APPLY, requested_by, now, run.id), True)

    def discard(self, run_id: int, discarded_by: str) -> tuple[PreviewDecision, bool]:
        """Drop the preview's staged data, once; the flag says whether this call discarded it."""
        if (decided := self.decision(run_id)) is not None:
            return decided, False
        try:
            self._open_report(run_id)
        except PreviewRefusedError:
            if (decided := self.decision(run_id)) is not None:
                return decided, False  # discarded meanwhile, its staged data dropped
            raise
        now = utcnow()
        try:
            with self._database.session() as session:
                preview_decisions.decide(
                    session,
                    preview_run_id=run_id,
                    action=PreviewAction.DISCARD.value,
                    decided_by=discarded_by,
                    now=now,
                )
                staged_snapshots.drop_staged_of_run(session, run_id)
        except IntegrityError:
            return self._decided(run_id), False
        return PreviewDecision(run_id, PreviewAction.DISCARD, discarded_by, now, None), True

    def _plan(self, run_id: int) -> ApplyPlan:
        self._open_report(run_id)
        plan = plan_apply(self._database, run_id)
        if not plan.to_apply:
            labels = ", ".join(diff.label for diff in plan.written_since)
            raise PreviewRefusedError(
                f"Nothing to apply: another run wrote every customer of preview {run_id} since ({labels})."
            )
        return plan

    def _decided(self, run_id: int) -> PreviewDecision:
        decided = self.decision(run_id)
        assert decided is not None, "a decision's unique key refused it, so it is stored"
        return decided

    def _open_report(self, run_id: int) -> PreviewReport:
        """The report of a finished preview that can still be applied, or why it cannot."""
        report = preview_report(self._database, run_id)
        if report.run.status is not RunStatus.COMPLETED:
            status = report.run.status.label.lower()
            raise PreviewRefusedError(f"Preview {run_id} is {status}: there is nothing to apply yet.")
        if report.expires_at is None or report.expires_at <= utcnow():
            raise PreviewExpiredError(run_id, report.expires_at)
        return report
