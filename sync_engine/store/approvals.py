"""Runs held for a second admin's approval, in the store: held, approved, rejected or expired.

Each decision is one conditional UPDATE of the run (`WHERE status = 'pending_approval'`, not expired,
and for an approval not by its requester), so of two admins clicking at once, or a click redelivered,
exactly one changes the run; only that one records the decision.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.orm import Session

from sync_engine.domain import ApprovalDecision, RunApproval, RunStatus
from sync_engine.store.conditional_update import updated
from sync_engine.store.models import BatchRunRow, RunApprovalRow, RunItemRow

__all__ = ["approve", "expire", "hold", "load_approvals", "overdue", "reject"]

_PENDING = RunStatus.PENDING_APPROVAL.value


def hold(session: Session, run_id: int, now: datetime, *, above: int, expires_at: datetime) -> bool:
    """Draft → pending approval when the run names more than `above` customers; False otherwise (or when
    it was not a draft)."""
    count = session.scalar(select(func.count()).select_from(RunItemRow).where(RunItemRow.run_id == run_id))
    if not count or count <= above:
        return False
    held = updated(
        session,
        update(BatchRunRow)
        .where(BatchRunRow.id == run_id, BatchRunRow.status == RunStatus.DRAFT.value)
        .values(status=_PENDING, confirmed_at=now, updated_at=now),
    )
    if held:
        session.add(RunApprovalRow(run_id=run_id, above=above, held_at=now, expires_at=expires_at))
    return held


def _waiting(run_id: int, now: datetime) -> list[ColumnElement[bool]]:
    """The run waits for a decision and has not expired."""
    alive = exists().where(RunApprovalRow.run_id == run_id, RunApprovalRow.expires_at > now)
    return [BatchRunRow.id == run_id, BatchRunRow.status == _PENDING, alive]


def approve(session: Session, run_id: int, approver: str, now: datetime) -> bool:
    """Pending approval → received, approved by `approver` (never its requester); True for one caller."""
    approved = updated(
        session,
        update(BatchRunRow)
        .where(*_waiting(run_id, now), BatchRunRow.requested_by != approver)
        .values(status=RunStatus.RECEIVED.value, updated_at=now),
    )
    if approved:
        _decide(session, run_id, ApprovalDecision.APPROVED, approver, now)
    return approved


def reject(session: Session, run_id: int, by: str, now: datetime) -> bool:
    """Pending approval → rejected (final, nothing written); True for one caller."""
    rejected = updated(
        session,
        update(BatchRunRow)
        .where(*_waiting(run_id, now))
        .values(status=RunStatus.REJECTED.value, finished_at=now, updated_at=now),
    )
    if rejected:
        _decide(session, run_id, ApprovalDecision.REJECTED, by, now)
    return rejected


def expire(session: Session, run_id: int, now: datetime) -> bool:
    """Pending approval past its time → expired (final); True for one caller."""
    overdue_now = exists().where(RunApprovalRow.run_id == run_id, RunApprovalRow.expires_at <= now)
    expired = updated(
        session,
        update(BatchRunRow)
        .where(BatchRunRow.id == run_id, BatchRunRow.status == _PENDING, overdue_now)
        .values(status=RunStatus.EXPIRED.value, finished_at=now, updated_at=now),
    )
    if expired:
        _decide(session, run_id, ApprovalDecision.EXPIRED, None, now)
    return expired


def overdue(session: Session, now: datetime) -> list[int]:
    """Runs still waiting for approval past their time, oldest first."""
    return list(
        session.scalars(
            select(RunApprovalRow.run_id)
            .join(BatchRunRow, BatchRunRow.id == RunApprovalRow.run_id)
            .where(BatchRunRow.status == _PENDING, RunApprovalRow.expires_at <= now)
            .order_by(RunApprovalRow.run_id)
        )
    )


def load_approvals(session: Session, run_ids: Collection[int]) -> dict[int, RunApproval]:
    """The approvals of those of `run_ids` that were held for one, in one query."""
    rows = session.scalars(select(RunApprovalRow).where(RunApprovalRow.run_id.in_(run_ids)))
    return {
        row.run_id: RunApproval(
            above=row.above,
            held_at=row.held_at,
            expires_at=row.expires_at,
            decision=ApprovalDecision(row.decision) if row.decision else None,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
        )
        for row in rows
    }


def _decide(session: Session, run_id: int, decision: ApprovalDecision, by: str | None, now: datetime) -> None:
    session.execute(
        update(RunApprovalRow)
        .where(RunApprovalRow.run_id == run_id)
        .values(decision=decision.value, decided_by=by, decided_at=now)
    )
