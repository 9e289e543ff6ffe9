"""The run service: what the Slack app and the CLI call to create, confirm and read batch runs."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync_engine import metrics, stopping
from sync_engine.announcement_service import AnnouncementService
from sync_engine.apply_approval import hold_or_receive_apply
from sync_engine.approval import ApprovalService, hold_if_required
from sync_engine.clock import utcnow
from sync_engine.connection_status import ConnectionService
from sync_engine.domain import BatchRun, IdentifierType, RunKind, RunStatus
from sync_engine.errors import ResyncError
from sync_engine.identifiers import parse_identifiers
from sync_engine.preview_decisions import PreviewDecisions
from sync_engine.preview_plan import ApplyPlan, PreviewRefusedError
from sync_engine.progress import RunEvent, RunEventKind, RunEvents
from sync_engine.rerun import RerunPlan, plan_rerun
from sync_engine.restore_plan import RestorePlan, RestoreRefusedError
from sync_engine.results import CustomerResult
from sync_engine.run_reason import clean_reason
from sync_engine.settings import Settings
from sync_engine.store import run_search, runs
from sync_engine.store.database import Database
from sync_engine.store.item_results import load_results

__all__ = ["Dispatcher", "RunService"]

log = logging.getLogger(__name__)

#: What a caller stores in the transaction that stores a run: `(session, run_id)`.
Recorder = Callable[[Session, int], None]


class Dispatcher(Protocol):
    """Sends jobs to the broker; `sync_engine.jobs.DramatiqDispatcher` is the real one (a protocol, so
    the service need not import the actors that import it)."""

    def start_run(self, run_id: int) -> None: ...

    def sync_customers(self, item_ids: list[int]) -> None: ...


class RunService:
    """Creates runs (draft, then confirmed), hands them to the jobs, and reads them back."""

    def __init__(
        self,
        database: Database,
        dispatcher: Dispatcher,
        events: RunEvents,
        *,
        approval_above: int | None = None,
        require_reason: bool = False,
    ) -> None:
        self._database = database
        self._dispatcher = dispatcher
        self._events = events
        #: RESYNC_APPROVAL_ABOVE: a sync of more customers waits for a second admin (None: never).
        self._approval_above = approval_above
        #: RESYNC_REQUIRE_REASON: checked here, so no front end can store a run without one.
        self._require_reason = require_reason

    def connection(self, settings: Settings) -> ConnectionService:
        """The Workday connection status on this store (front ends never get the store itself)."""
        return ConnectionService(settings, self._database)

    def announcements(self) -> AnnouncementService:
        """What front ends record about their announcements of runs, on this store."""
        return AnnouncementService(self._database)

    def approvals(self) -> ApprovalService:
        """Approve or reject the runs awaiting a second admin; an approved run is queued as `confirm` does."""
        return ApprovalService(self._database, self._events, self._queue)

    def create_draft(
        self,
        identifier_type: IdentifierType,
        identifiers: Sequence[str],
        requested_by: str,
        *,
        slack_channel: str | None = None,
        reason: str | None = None,
    ) -> BatchRun:
        """Store a run awaiting confirmation; `IdentifierError` if the identifiers are unusable,
        `ReasonError` if the reason is (or, when required, is missing)."""
        return self._create(
            identifier_type, identifiers, requested_by, RunStatus.DRAFT, slack_channel, reason=reason
        )

    def create_draft_once(
        self,
        request_key: str,
        identifier_type: IdentifierType,
        identifiers: Sequence[str],
        requested_by: str,
        *,
        slack_channel: str | None = None,
        reason: str | None = None,
        rerun_of: int | None = None,
    ) -> tuple[BatchRun, bool]:
        """`create_draft` for a front end's request named by `request_key` (e.g. a Slack form submission):
        the same request again (same key, requester, channel, identifiers, reason, run re-run), however it
        arrives (a replay, a retry, at once from another process), returns the run it stored as it is now and
        stores nothing; any difference makes it a new request. The flag says whether this call stored it.
        """
        clean = parse_identifiers("\n".join(identifiers), identifier_type)
        clean_reason_text = clean_reason(reason, required=self._require_reason)
        digest = _request_digest(
            request_key, requested_by, slack_channel, identifier_type, clean, clean_reason_text, rerun_of
        )
        stored = self._run_with_digest(digest)
        if stored is not None:
            return stored, False
        try:
            run = self._create(
                identifier_type,
                clean,
                requested_by,
                RunStatus.DRAFT,
                slack_channel,
                request_digest=digest,
                reason=clean_reason_text,
                source_run_id=rerun_of,
            )
        except IntegrityError:
            # The same request, at the same moment, through another thread or process: it stored it.
            stored = self._run_with_digest(digest)
            if stored is None:
                raise
            return stored, False
        return run, True

    def _run_with_digest(self, digest: str) -> BatchRun | None:
        with self._database.session() as session:
            run_id = runs.run_with_request_digest(session, digest)
            return runs.get_run(session, run_id) if run_id is not None else None

    def confirm(self, run_id: int, *, kind: RunKind = RunKind.SYNC) -> tuple[BatchRun, bool]:
        """Queue a draft run as a `kind` run (a sync, or a preview of it), or hold a sync for a second
        admin's approval (RESYNC_APPROVAL_ABOVE); the flag says whether this call queued it (a second
        click, of either, does nothing)."""
        # A preview writes nothing: nothing to approve before it runs.
        above = self._approval_above if kind is RunKind.SYNC else None
        held = hold_if_required(self._database, run_id, above, utcnow())
        with self._database.session() as session:
            confirmed = not held and runs.confirm_run(session, run_id, utcnow(), kind)
            run = runs.get_run(session, run_id)
        if held:
            self._events.publish(RunEvent(run.id, RunEventKind.RECEIVED))  # its status message asks
        if confirmed:
            self._queue(run.id)
        return run, confirmed

    def cancel(self, run_id: int) -> bool:
        """Drop a draft run; False if it was already confirmed or cancelled."""
        with self._database.session() as session:
            return runs.cancel_run(session, run_id, utcnow())

    def submit(
        self,
        identifier_type: IdentifierType,
        identifiers: Sequence[str],
        requested_by: str,
        *,
        kind: RunKind = RunKind.SYNC,
        reason: str | None = None,
        rerun_of: int | None = None,
    ) -> BatchRun:
        """Create and queue a run at once (the CLI asked for confirmation before calling); a `preview`
        fetches as a sync does and stages what it fetched instead of writing it. A sync above
        RESYNC_APPROVAL_ABOVE is held for approval instead of queued; `rerun_of`: the run it re-runs."""
        # Held: stored as a draft, confirmed like a Slack draft, so that a run above the setting waits.
        held = kind is RunKind.SYNC and self._approval_above is not None
        status = RunStatus.DRAFT if held else RunStatus.RECEIVED
        request = (identifier_type, identifiers, requested_by, status, None)
        run = self._create(*request, kind=kind, reason=reason, source_run_id=rerun_of)
        if held:
            return self.confirm(run.id)[0]
        self._queue(run.id)
        return run

    def rerun_plan(self, run_id: int) -> RerunPlan:
        """What re-running finished run `run_id` takes: its failed and unresolved customers, as typed."""
        return plan_rerun(self._database, run_id)

    def submit_restore(self, plan: RestorePlan, requested_by: str, *, reason: str | None = None) -> BatchRun:
        """Create and queue a restore run putting back `plan.to_restore` (the caller confirmed it)."""
        if not plan.to_restore:
            raise RestoreRefusedError(f"Nothing to restore of run {plan.source_run_id}.")
        wids = [customer.customer_wid for customer in plan.to_restore]
        return self._submit_derived(
            RunKind.RESTORE, plan.source_run_id, wids, requested_by, force=plan.force, reason=reason
        )

    def submit_apply(
        self,
        plan: ApplyPlan,
        requested_by: str,
        *,
        slack_channel: str | None = None,
        record: Recorder | None = None,
    ) -> BatchRun:
        """Create and queue an apply run writing the preview's staged snapshots of `plan.to_apply`, or hold
        it for a second admin's approval as a sync is (RESYNC_APPROVAL_ABOVE); `record(session, run_id)`
        runs in the transaction storing it (if it raises, nothing is stored)."""
        if not plan.to_apply:
            raise PreviewRefusedError(f"Nothing to apply of preview {plan.preview_run_id}.")
        # The preview was the request: its reason is the apply's.
        reason = self.get(plan.preview_run_id).reason
        above = self._approval_above

        def store(session: Session, run_id: int) -> None:
            if record is not None:
                record(session, run_id)
            if above is not None:
                hold_or_receive_apply(session, run_id, plan, above, utcnow())

        return self._submit_derived(
            RunKind.APPLY,
            plan.preview_run_id,
            plan.to_apply,
            requested_by,
            force=False,
            reason=reason,
            slack_channel=slack_channel,
            record=store,
            status=RunStatus.RECEIVED if above is None else RunStatus.DRAFT,
        )

    def previews(self) -> PreviewDecisions:
        """Read, apply and discard previews (what front ends' buttons do), on this store."""
        return PreviewDecisions(self._database, self.submit_apply)

    def _submit_derived(
        self,
        kind: RunKind,
        source_run_id: int,
        wids: Sequence[str],
        requested_by: str,
        *,
        force: bool,
        reason: str | None,
        slack_channel: str | None = None,
        record: Recorder | None = None,
        status: RunStatus = RunStatus.RECEIVED,
    ) -> BatchRun:
        """A run working from another (a restore's, an apply's): its items name customers by wid, nothing
        to resolve on Workday (see `sync_engine.item_work`). A `status` of draft: `record` holds or receives
        it (an apply under RESYNC_APPROVAL_ABOVE)."""
        run = self._create(
            IdentifierType.SOURCE_ID,
            wids,
            requested_by,
            status,
            slack_channel,
            kind=kind,
            source_run_id=source_run_id,
            force=force,
            resolved=True,
            record=record,
            reason=reason,
        )
        if run.status is RunStatus.PENDING_APPROVAL:
            self._events.publish(RunEvent(run.id, RunEventKind.RECEIVED))  # its status message asks
        else:
            self._queue(run.id)
        return run

    def stop(self, run_id: int, requested_by: str) -> tuple[BatchRun, bool]:
        """Stop a received or in-progress run (`sync_engine.stopping`); the flag says whether this call
        stopped it (a second click, or a run already final, changes nothing)."""
        return stopping.stop_run(self._database, self._events, run_id, requested_by)

    def get(self, run_id: int) -> BatchRun:
        with self._database.session() as session:
            return runs.get_run(session, run_id)

    def history(self, *, limit: int = 10, offset: int = 0, search: str | None = None) -> list[BatchRun]:
        """Confirmed runs, most recent first; with `search`, only those whose reason, requester or an
        identifier contains it (any case, `%` and `_` literal); `ResyncError` for an empty or overlong one."""
        if search is None:
            with self._database.session() as session:
                return runs.list_runs(session, limit=limit, offset=offset)
        text = search.strip()
        if not text:
            raise ResyncError("The search is empty: give words of a reason, an identifier or a requester.")
        if len(text) > run_search.MAX_SEARCH_LENGTH:
            raise ResyncError(
                f"The search is {len(text)} characters long: at most {run_search.MAX_SEARCH_LENGTH}."
            )
        with self._database.session() as session:
            found = run_search.matching_runs(session, text, limit=limit, offset=offset)
            return [runs.get_run(session, run_id) for run_id in found]

    def records_text(self, run_id: int) -> str:
        """The run's exact identifier list, one per line: the records file admins download."""
        return "".join(f"{identifier}\n" for identifier in self.get(run_id).identifiers)

    def results(self, run_id: int) -> list[CustomerResult]:
        """What the run did for each identifier, in paste order (`results_csv` renders them)."""
        with self._database.session() as session:
            return load_results(session, run_id)

    def attach_slack_message(self, run_id: int, channel: str, ts: str) -> None:
        with self._database.session() as session:
            runs.set_slack_message(session, run_id, channel, ts)

    def _create(
        self,
        identifier_type: IdentifierType,
        identifiers: Sequence[str],
        requested_by: str,
        status: RunStatus,
        slack_channel: str | None,
        *,
        request_digest: str | None = None,
        kind: RunKind = RunKind.SYNC,
        source_run_id: int | None = None,
        force: bool = False,
        resolved: bool = False,
        record: Recorder | None = None,
        reason: str | None = None,
    ) -> BatchRun:
        # Same rules as the front ends' own checks, so no caller can store an oversized or dirty list.
        clean = parse_identifiers("\n".join(identifiers), identifier_type)
        # An apply carries its preview's reason (checked when the preview was asked for).
        clean_reason_text = clean_reason(reason, required=self._require_reason and kind is not RunKind.APPLY)
        with self._database.session() as session:
            run_id = runs.create_run(
                session,
                identifier_type=identifier_type,
                identifiers=clean,
                requested_by=requested_by,
                status=status,
                now=utcnow(),
                slack_channel=slack_channel,
                request_digest=request_digest,
                kind=kind,
                source_run_id=source_run_id,
                force=force,
                resolved=resolved,
                reason=clean_reason_text,
            )
            if record is not None:
                record(session, run_id)
            run = runs.get_run(session, run_id)
        log.info(
            "Run received",
            extra={
                "run_id": run_id,
                "kind": kind.value,
                "source_run_id": source_run_id,
                "status": status.value,
                "identifier_type": identifier_type.value,
                "identifiers": len(clean),
                "requested_by": requested_by,
                "with_reason": clean_reason_text is not None,
            },
        )
        return run

    def _queue(self, run_id: int) -> None:
        self._events.publish(RunEvent(run_id, RunEventKind.RECEIVED))
        try:
            self._dispatcher.start_run(run_id)
            metrics.run_queued()
            log.info("Run queued", extra={"run_id": run_id})
        except Exception:
            # The run is stored as received; the sweeper of any worker sends it once the broker is back.
            log.exception(
                "Could not send the run to the broker; it will be resumed", extra={"run_id": run_id}
            )


def _request_digest(
    key: str,
    requested_by: str,
    channel: str | None,
    identifier_type: IdentifierType,
    identifiers: list[str],
    reason: str | None,
    rerun_of: int | None,
) -> str:
    """What makes two requests the same one, as a fixed-size digest (nothing a front end sent is stored).
    A request without a reason, re-running no run, digests as it did before reasons and re-runs existed."""
    parts: list[object] = [key, requested_by, channel, identifier_type.value, identifiers]
    rerun = [] if rerun_of is None else [{"rerun_of": rerun_of}]
    text = json.dumps([*parts, *([] if reason is None else [reason]), *rerun])
    return hashlib.sha256(text.encode()).hexdigest()
