"""Batch runs in the store, as a state machine: draft → received → in progress → completed or error
(or draft → cancelled; an admin's stop: `store.stops`), and the run as front ends read it.

Each transition is one conditional UPDATE (`updated`, `WHERE status = 'draft'`...), so a step repeated by
a second delivery (Dramatiq delivers at least once) changes nothing. A run's items: `store.items`; its
announcement: `store.announcements`; the errors it ends with are worded in `sync_engine.run_errors`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sync_engine.domain import BatchRun, IdentifierType, ItemStatus, RunCounts, RunKind, RunStatus
from sync_engine.errors import RunNotFoundError
from sync_engine.run_errors import NOTHING_RESOLVED, failure_message, fatal_message
from sync_engine.store import previous_copies
from sync_engine.store.announcements import load_announcements
from sync_engine.store.approvals import load_approvals
from sync_engine.store.conditional_update import updated
from sync_engine.store.models import BatchRunRow, RunItemRow

__all__ = [
    "RunSource",
    "cancel_run",
    "claim_run_restart",
    "confirm_run",
    "count_start_attempt",
    "create_run",
    "finish_run_if_done",
    "get_run",
    "list_runs",
    "mark_started",
    "run_source",
    "run_with_request_digest",
    "set_slack_message",
    "stop_run",
    "unfinished_runs",
]


def create_run(
    session: Session,
    *,
    identifier_type: IdentifierType,
    identifiers: Sequence[str],
    requested_by: str,
    status: RunStatus,
    now: datetime,
    slack_channel: str | None = None,
    request_digest: str | None = None,
    kind: RunKind = RunKind.SYNC,
    source_run_id: int | None = None,
    force: bool = False,
    resolved: bool = False,
    reason: str | None = None,
) -> int:
    """Store a run (draft or received) and one pending item per identifier, in paste order.

    `request_digest` is unique: storing a second run with it fails (`IntegrityError`) at flush or commit.
    `resolved`: the identifiers are customer wids already (a restore's), nothing to ask Workday.
    """
    run = BatchRunRow(
        status=status.value,
        identifier_type=identifier_type.value,
        requested_by=requested_by,
        created_at=now,
        confirmed_at=now if status is RunStatus.RECEIVED else None,
        updated_at=now,
        slack_channel=slack_channel,
        request_digest=request_digest,
        kind=kind.value,
        source_run_id=source_run_id,
        force=force,
        reason=reason,
    )
    session.add(run)
    session.flush()
    session.add_all(
        RunItemRow(
            run_id=run.id,
            position=position,
            identifier=identifier,
            customer_wid=identifier if resolved else None,
            status=ItemStatus.PENDING.value,
        )
        for position, identifier in enumerate(identifiers)
    )
    return run.id


def run_with_request_digest(session: Session, digest: str) -> int | None:
    """The id of the run a request with this digest stored, if any."""
    return session.scalar(select(BatchRunRow.id).where(BatchRunRow.request_digest == digest))


def confirm_run(session: Session, run_id: int, now: datetime, kind: RunKind = RunKind.SYNC) -> bool:
    """Draft → received, as a run of `kind` (a sync, or a preview of it); False when it was not a draft
    (already confirmed, cancelled, unknown)."""
    return updated(
        session,
        update(BatchRunRow)
        .where(BatchRunRow.id == run_id, BatchRunRow.status == RunStatus.DRAFT.value)
        .values(status=RunStatus.RECEIVED.value, confirmed_at=now, updated_at=now, kind=kind.value),
    )


def cancel_run(session: Session, run_id: int, now: datetime) -> bool:
    """Draft → cancelled; False when it was not a draft."""
    return updated(
        session,
        update(BatchRunRow)
        .where(BatchRunRow.id == run_id, BatchRunRow.status == RunStatus.DRAFT.value)
        .values(status=RunStatus.CANCELLED.value, finished_at=now, updated_at=now),
    )


def set_slack_message(session: Session, run_id: int, channel: str, ts: str) -> None:
    """Remember where the run's status message lives."""
    session.execute(
        update(BatchRunRow).where(BatchRunRow.id == run_id).values(slack_channel=channel, slack_message_ts=ts)
    )


def mark_started(session: Session, run_id: int, now: datetime) -> bool:
    """Received → in progress; False when the run had already left `received`."""
    return updated(
        session,
        update(BatchRunRow)
        .where(BatchRunRow.id == run_id, BatchRunRow.status == RunStatus.RECEIVED.value)
        .values(status=RunStatus.IN_PROGRESS.value, started_at=now, updated_at=now),
    )


def claim_run_restart(session: Session, run_id: int, now: datetime, *, untouched_since: datetime) -> bool:
    """Mark an unfinished run untouched since `untouched_since` as restarted now; True for one caller."""
    return updated(
        session,
        update(BatchRunRow)
        .where(
            BatchRunRow.id == run_id,
            BatchRunRow.status.in_([RunStatus.RECEIVED.value, RunStatus.IN_PROGRESS.value]),
            BatchRunRow.updated_at <= untouched_since,
        )
        .values(updated_at=now),
    )


def count_start_attempt(session: Session, run_id: int) -> int:
    """Count one more attempt at resolving the run's identifiers; the attempts so far, this one included."""
    attempts = session.scalar(
        update(BatchRunRow)
        .where(BatchRunRow.id == run_id)
        .values(start_attempts=BatchRunRow.start_attempts + 1)
        .returning(BatchRunRow.start_attempts)
    )
    return int(attempts or 0)


def unfinished_runs(session: Session) -> list[int]:
    """Runs confirmed and not yet final, oldest first."""
    return list(
        session.scalars(
            select(BatchRunRow.id)
            .where(BatchRunRow.status.in_([RunStatus.RECEIVED.value, RunStatus.IN_PROGRESS.value]))
            .order_by(BatchRunRow.id)
        )
    )


def stop_run(session: Session, run_id: int, error: str, now: datetime) -> bool:
    """End a run in error now: a fatal problem (credentials, permissions) would fail every customer.

    Pending items become failed with `error`; what already synced stays synced and counted.
    """
    # FOR NO KEY UPDATE: a customer's write holding its item's lock still takes its KEY SHARE on the run.
    run = session.get(BatchRunRow, run_id, with_for_update={"key_share": True})
    if run is None or RunStatus(run.status) not in (RunStatus.RECEIVED, RunStatus.IN_PROGRESS):
        return False
    session.execute(
        update(RunItemRow)
        .where(RunItemRow.run_id == run_id, RunItemRow.status == ItemStatus.PENDING.value)
        .values(
            status=ItemStatus.FAILED.value, error=error, lease_owner=None, lease_until=None, finished_at=now
        )
    )
    summary = _summarise(session, run_id)
    not_synced = [identifier for identifier, _ in summary.failed]
    run.status = RunStatus.ERROR.value
    run.error = fatal_message(error, not_synced, synced=summary.synced, resolved=summary.resolved)
    run.started_at = run.started_at or now
    run.finished_at = now
    run.updated_at = now
    return True


def finish_run_if_done(session: Session, run_id: int, now: datetime) -> RunStatus | None:
    """Close an in-progress run whose items are all final; return its final status if this call closed it.

    Called after every item commits (each in its own transaction), so whichever commit comes last sees
    every item final; the conditional update lets exactly one caller close the run.
    """
    pending = session.scalar(
        select(func.count())
        .select_from(RunItemRow)
        .where(RunItemRow.run_id == run_id, RunItemRow.status == ItemStatus.PENDING.value)
    )
    if pending:
        return None
    summary = _summarise(session, run_id)
    if summary.synced == 0 and not summary.failed:
        status, error = RunStatus.ERROR, NOTHING_RESOLVED
    elif summary.failed:
        error = failure_message(summary.failed, synced=summary.synced, resolved=summary.resolved)
        status = RunStatus.ERROR
    else:
        status, error = RunStatus.COMPLETED, None
    closed = updated(
        session,
        update(BatchRunRow)
        .where(
            BatchRunRow.id == run_id,
            BatchRunRow.status.in_([RunStatus.RECEIVED.value, RunStatus.IN_PROGRESS.value]),
        )
        .values(
            status=status.value,
            error=error,
            started_at=func.coalesce(BatchRunRow.started_at, now),
            finished_at=now,
            updated_at=now,
        ),
    )
    return status if closed else None


@dataclasses.dataclass(frozen=True, slots=True)
class RunSource:
    """What a run works from: its kind, the run it restores (or the preview it applies), and whether it
    may overwrite customers a later run wrote since."""

    kind: RunKind
    source_run_id: int | None
    force: bool


def run_source(session: Session, run_id: int) -> RunSource:
    """The run's `RunSource`; `RunNotFoundError` if there is no such run."""
    row = session.execute(
        select(BatchRunRow.kind, BatchRunRow.source_run_id, BatchRunRow.force).where(BatchRunRow.id == run_id)
    ).one_or_none()
    if row is None:
        raise RunNotFoundError(f"There is no batch run {run_id}.")
    return RunSource(RunKind(row.kind), row.source_run_id, bool(row.force))


def get_run(session: Session, run_id: int) -> BatchRun:
    """The run as front ends show it; `RunNotFoundError` if there is none."""
    run = session.get(BatchRunRow, run_id)
    if run is None:
        raise RunNotFoundError(f"There is no batch run {run_id}.")
    return _to_records(session, [run])[0]


def list_runs(session: Session, *, limit: int, offset: int = 0) -> list[BatchRun]:
    """Confirmed runs, most recent first (drafts and cancelled drafts are not history)."""
    runs = session.scalars(
        select(BatchRunRow)
        .where(BatchRunRow.status.not_in([RunStatus.DRAFT.value, RunStatus.CANCELLED.value]))
        .order_by(BatchRunRow.created_at.desc(), BatchRunRow.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return _to_records(session, runs)


@dataclasses.dataclass(frozen=True, slots=True)
class _Summary:
    counts: RunCounts
    synced: int
    resolved: int
    unresolved: list[str]
    failed: list[tuple[str, str]]
    skipped: list[str]
    identifiers: list[str]


def _summarise(session: Session, run_id: int) -> _Summary:
    return _summaries(session, [run_id])[run_id]


def _summaries(session: Session, run_ids: list[int]) -> dict[int, _Summary]:
    """Each run's items summed up, in one query for all of them."""
    items = session.execute(
        select(
            RunItemRow.run_id,
            RunItemRow.identifier,
            RunItemRow.status,
            RunItemRow.customer_wid,
            RunItemRow.invoices,
            RunItemRow.payments,
            RunItemRow.credit_notes,
            RunItemRow.error,
        )
        .where(RunItemRow.run_id.in_(run_ids))
        .order_by(RunItemRow.run_id, RunItemRow.position)
    ).all()
    by_run: dict[int, list[Any]] = {run_id: [] for run_id in run_ids}
    for item in items:
        by_run[item.run_id].append(item)
    return {run_id: _summary(run_items) for run_id, run_items in by_run.items()}


def _summary(items: list[Any]) -> _Summary:
    synced = [item for item in items if item.status == ItemStatus.SYNCED.value]
    return _Summary(
        counts=RunCounts(
            customers=len(synced),
            invoices=sum(item.invoices for item in synced),
            payments=sum(item.payments for item in synced),
            credit_notes=sum(item.credit_notes for item in synced),
        ),
        synced=len(synced),
        resolved=sum(1 for item in items if item.customer_wid is not None),
        unresolved=[item.identifier for item in items if item.status == ItemStatus.UNRESOLVED.value],
        failed=[
            (item.identifier, item.error or "") for item in items if item.status == ItemStatus.FAILED.value
        ],
        skipped=[item.identifier for item in items if item.status == ItemStatus.SKIPPED.value],
        identifiers=[item.identifier for item in items],
    )


def _to_records(session: Session, runs: Sequence[BatchRunRow]) -> list[BatchRun]:
    """The runs as front ends show them, in five queries however many runs (a page of history)."""
    run_ids = [run.id for run in runs]
    summaries = _summaries(session, run_ids)
    announcements = load_announcements(session, run_ids)
    kept_until = previous_copies.kept_until(session, run_ids)
    approvals = load_approvals(session, run_ids)
    records = []
    for run in runs:
        summary = summaries[run.id]
        records.append(
            BatchRun(
                id=run.id,
                status=RunStatus(run.status),
                identifier_type=IdentifierType(run.identifier_type),
                identifiers=summary.identifiers,
                requested_by=run.requested_by,
                created_at=run.created_at,
                started_at=run.started_at,
                finished_at=run.finished_at,
                counts=summary.counts,
                resolved=summary.resolved,
                unresolved=summary.unresolved,
                failed=[identifier for identifier, _ in summary.failed],
                error=run.error,
                slack_channel=run.slack_channel,
                slack_message_ts=run.slack_message_ts,
                announcement=announcements[run.id],
                kind=RunKind(run.kind),
                source_run_id=run.source_run_id,
                previous_kept_until=kept_until.get(run.id),
                approval=approvals.get(run.id),
                skipped=summary.skipped,
                stopped_by=run.stopped_by,
                stopped_at=run.stopped_at,
                reason=run.reason,
            )
        )
    return records
