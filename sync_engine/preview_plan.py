"""A preview as the admin reads it (the diff, largest changes first) and what applying it would write.

`plan_apply` refuses, with a message naming why and changing nothing, a run that is not a finished
preview or whose staged data expired; customers a run wrote since the preview are left out and listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sync_engine.clock import utcnow
from sync_engine.domain import BatchRun, RunKind, RunStatus
from sync_engine.errors import ResyncError
from sync_engine.preview_diff import CustomerDiff, KindDiff, total
from sync_engine.store import runs, staged_snapshots
from sync_engine.store.database import Database

__all__ = ["ApplyPlan", "PreviewRefusedError", "PreviewReport", "plan_apply", "preview_report"]


class PreviewRefusedError(ResyncError):
    """A preview that cannot be applied as asked; nothing was changed."""


@dataclass(frozen=True, slots=True)
class PreviewReport:
    run: BatchRun
    #: Per customer, the most changes first.
    customers: list[CustomerDiff]
    totals: dict[str, KindDiff]
    #: When the staged data is dropped (None: nothing staged).
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApplyPlan:
    preview_run_id: int
    to_apply: list[str]
    #: Customers a run wrote since the preview: left out.
    written_since: list[CustomerDiff]


def preview_report(database: Database, run_id: int) -> PreviewReport:
    """The diff of a preview run so far (`RunNotFoundError` for no such run)."""
    with database.session() as session:
        run = runs.get_run(session, run_id)
        staged = staged_snapshots.staged_of_run(session, run_id)
    if run.kind is not RunKind.PREVIEW:
        raise PreviewRefusedError(f"Run {run_id} is a {run.kind.value} run, not a preview.")
    diffs = sorted(
        (CustomerDiff.from_json(entry.diff) for entry in staged),
        key=lambda diff: (
            -diff.changes,
            -max(abs(kind.amount_delta) for kind in diff.kinds.values()),
            diff.label,
        ),
    )
    return PreviewReport(run, diffs, total(diffs), min((entry.expires_at for entry in staged), default=None))


def plan_apply(database: Database, run_id: int) -> ApplyPlan:
    """What applying preview `run_id` would write now."""
    report = preview_report(database, run_id)
    if report.run.status is not RunStatus.COMPLETED:
        raise PreviewRefusedError(f"Preview {run_id} is {report.run.status.label.lower()}: nothing to apply.")
    if report.expires_at is None or report.expires_at <= utcnow():
        raise PreviewRefusedError(
            f"Preview {run_id} expired (RESYNC_PREVIEW_TTL): its staged data is dropped. Preview again."
        )
    with database.session() as session:
        staged = staged_snapshots.staged_of_run(session, run_id)
    written = {entry.customer_wid for entry in staged if entry.written_since}
    return ApplyPlan(
        preview_run_id=run_id,
        to_apply=[entry.customer_wid for entry in staged if entry.customer_wid not in written],
        written_since=[diff for diff in report.customers if diff.customer_wid in written],
    )
