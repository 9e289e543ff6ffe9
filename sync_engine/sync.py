"""What the jobs do: resolve a run's identifiers, then overwrite one customer at a time.

Each step is safe to repeat (Dramatiq delivers at least once): the store's conditional updates decide
whether a step still has anything to do. A customer is fetched completely before anything is written,
then written, with its item's result and counts, in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sync_engine import logs, metrics
from sync_engine.clock import utcnow
from sync_engine.domain import CustomerSnapshot, IdentifierType, RunStatus
from sync_engine.errors import (
    WorkdayConfigurationError,
    WorkdayPermanentError,
    WorkdayTransientError,
    WorkdayUnresponsiveError,
)
from sync_engine.leases import ITEM_LEASE
from sync_engine.progress import RunEvent, RunEventKind
from sync_engine.retention import keep_previous
from sync_engine.run_errors import START_ATTEMPTS_EXHAUSTED, attempts_unfinished, describe_failure
from sync_engine.runtime import Runtime
from sync_engine.store import items, runs
from sync_engine.store.customers import overwrite_customer
from sync_engine.store.items import ItemToSync

__all__ = ["finish_if_done", "resolve_run", "stop_run", "sync_item"]

log = logging.getLogger(__name__)

#: Claims of one customer before it is marked failed, however they came (Dramatiq retries, or resends by
#: the sweeper after a worker died or a time limit struck): a customer that always fails ends the run.
MAX_ITEM_ATTEMPTS = 4
#: Attempts at resolving a run's identifiers, however they came: more than the job's own retries (7
#: attempts) plus restarts after a few crashes; a run whose start kills its worker every time (Dramatiq
#: redelivers a dead worker's message without counting a retry) ends instead of looping.
MAX_START_ATTEMPTS = 12


def resolve_run(rt: Runtime, run_id: int, *, final_attempt: bool) -> list[int]:
    """Resolve the run's identifiers still unknown, start it, and return the item ids to sync now.

    Raises `WorkdayTransientError` when Workday cannot answer now (the job retries), except on the final
    attempt, where the run ends in error saying so.
    """
    logs.bind(run_id=run_id)
    with items.resolving(rt.database, run_id) as mine:
        if not mine:
            log.info("Run already being resolved by another delivery", extra={"run_id": run_id})
            return []
        return _resolve_and_start(rt, run_id, final_attempt=final_attempt)


def _resolve_and_start(rt: Runtime, run_id: int, *, final_attempt: bool) -> list[int]:
    with rt.database.session() as session:
        run = runs.get_run(session, run_id)
        if run.status not in (RunStatus.RECEIVED, RunStatus.IN_PROGRESS):
            return []
        to_resolve = items.items_to_resolve(session, run_id)
    if to_resolve:
        with rt.database.session() as session:
            attempts = runs.count_start_attempt(session, run_id)
        if attempts > MAX_START_ATTEMPTS:
            stop_run(rt, run_id, START_ATTEMPTS_EXHAUSTED.format(n=MAX_START_ATTEMPTS))
            return []
        try:
            resolution = rt.workday().resolve_customers(to_resolve, IdentifierType(run.identifier_type))
        except (WorkdayPermanentError, WorkdayUnresponsiveError) as error:
            stop_run(rt, run_id, str(error))
            return []
        except WorkdayTransientError as error:
            if not final_attempt:
                raise
            stop_run(rt, run_id, f"Workday could not be reached: {error}")
            return []
        except Exception as error:
            if not final_attempt:
                raise
            stop_run(rt, run_id, describe_failure(error))
            return []
        with rt.database.session() as session:
            items.record_resolution(session, run_id, resolution.found, resolution.unresolved, utcnow())
        metrics.identifiers_unresolved(len(resolution.unresolved))
        log.info(
            "Resolved identifiers",
            extra={
                "run_id": run_id,
                "found": len(resolution.found),
                "unresolved": len(resolution.unresolved),
            },
        )
    now = utcnow()
    with rt.database.session() as session:
        started = runs.mark_started(session, run_id, now)
        item_ids = items.claim_items_to_enqueue(session, run_id, now)
    if started:
        log.info("Run started", extra={"run_id": run_id, "customers": len(item_ids)})
        rt.events.publish(RunEvent(run_id, RunEventKind.STARTED))
    finish_if_done(rt, run_id)
    return item_ids


#: Writes a fetched customer and completes its item in one transaction; False if another delivery did.
WriteSnapshot = Callable[[Runtime, ItemToSync, CustomerSnapshot], bool]


def sync_item(rt: Runtime, item_id: int, *, final_attempt: bool, write: WriteSnapshot | None = None) -> None:
    """Fetch one customer completely, then overwrite it and record the result in one transaction
    (`write`, for a preview: stage it instead).

    A redelivered message finds the item synced (or held by a live worker) and does nothing. Transient
    failures release the item and raise so the job retries, except on the final attempt, where the
    customer is marked failed and the run carries on.
    """
    with rt.database.session() as session:
        item = items.claim_item(session, item_id, rt.worker_id, utcnow(), ITEM_LEASE)
    if item is None:
        log.info("Item already synced or held by another worker", extra={"item_id": item_id})
        return
    customer = {"run_id": item.run_id, "wid": item.customer.wid}
    logs.bind(**customer)  # Workday client and Dramatiq events of this job carry them too
    log.info("Fetching customer", extra={**customer, "attempt": item.attempts})
    final_attempt = final_attempt or item.attempts >= MAX_ITEM_ATTEMPTS
    if item.attempts > MAX_ITEM_ATTEMPTS:
        # Earlier attempts never came back (killed worker, time limit): stop trying.
        _fail(rt, item, attempts_unfinished(MAX_ITEM_ATTEMPTS))
        return
    rt.leases.hold(item_id)
    try:
        try:
            snapshot = rt.workday().fetch_customer(item.customer, run=item.run_id)
            counts = {
                "invoices": len(snapshot.invoices),
                "payments": len(snapshot.payments),
                "credit_notes": len(snapshot.credit_notes),
            }
            log.info("Customer fetched", extra={**customer, **counts})
            committed = (write or _write)(rt, item, snapshot)
        except (WorkdayConfigurationError, WorkdayUnresponsiveError) as error:
            # Every other customer would fail (or, on a hung Workday, wait) the same way.
            stop_run(rt, item.run_id, str(error))
            return
        except WorkdayPermanentError as error:
            _fail(rt, item, str(error))
            return
        except Exception as error:
            # Transient Workday trouble, a dropped database connection, a bug: retry while we may.
            if not final_attempt:
                log.warning(
                    "Customer not synced yet; the job will retry",
                    extra={**customer, "attempt": item.attempts, "error": describe_failure(error)},
                )
                with rt.database.session() as session:
                    items.release_item(session, item_id, rt.worker_id)
                raise
            _fail(rt, item, describe_failure(error))
            return
    finally:
        rt.leases.release(item_id)
    if committed:
        metrics.customer_synced(**counts)
        log.info("Customer written", extra={**customer, **counts})
        rt.events.publish(RunEvent(item.run_id, RunEventKind.PROGRESS))
    finish_if_done(rt, item.run_id)


def finish_if_done(rt: Runtime, run_id: int) -> None:
    """Close the run if every item is final; publish once, from whichever caller closed it."""
    with rt.database.session() as session:
        status = runs.finish_run_if_done(session, run_id, utcnow())
    if status is not None:
        _finished(rt, run_id)


class _AlreadySynced(Exception):
    """Another delivery of this item committed first: roll this write back."""


def _write(rt: Runtime, item: ItemToSync, snapshot: CustomerSnapshot) -> bool:
    try:
        with rt.database.session() as session:
            keep = keep_previous(rt.settings, item.run_id)
            outcome = overwrite_customer(session, snapshot, run_id=item.run_id, keep_previous=keep)
            if not items.complete_item(
                session,
                item.item_id,
                invoices=outcome.invoices,
                payments=outcome.payments,
                credit_notes=outcome.credit_notes,
                now=utcnow(),
            ):
                raise _AlreadySynced
    except _AlreadySynced:
        return False
    return True


def _fail(rt: Runtime, item: ItemToSync, error: str) -> None:
    log.error(
        "Customer not synced",
        extra={"run_id": item.run_id, "wid": item.customer.wid, "attempt": item.attempts, "error": error},
    )
    with rt.database.session() as session:
        failed = items.fail_item(session, item.item_id, error, utcnow())
    if failed:
        metrics.customer_failed()
        rt.events.publish(RunEvent(item.run_id, RunEventKind.PROGRESS))
    finish_if_done(rt, item.run_id)


def stop_run(rt: Runtime, run_id: int, error: str) -> None:
    """End an unfinished run in Error with `error` now; what already synced stays synced."""
    log.error("Run stopped", extra={"run_id": run_id, "error": error})
    with rt.database.session() as session:
        stopped = runs.stop_run(session, run_id, error, utcnow())
    if stopped:
        _finished(rt, run_id)


def _finished(rt: Runtime, run_id: int) -> None:
    """Count, log and publish a run that this process just closed."""
    with rt.database.session() as session:
        run = runs.get_run(session, run_id)
    assert run.finished_at is not None
    seconds = (run.finished_at - (run.started_at or run.created_at)).total_seconds()
    metrics.run_finished(run.status.value, seconds)
    counts = run.counts
    log.info(
        "Run finished",
        extra={
            "run_id": run_id,
            "wid": None,  # a run-level event, whichever customer's job closed the run
            "status": run.status.value,
            "duration_seconds": round(seconds, 3),
            "customers": counts.customers,
            "invoices": counts.invoices,
            "payments": counts.payments,
            "credit_notes": counts.credit_notes,
            "unresolved": len(run.unresolved),
            "error": run.error,
        },
    )
    rt.events.publish(RunEvent(run_id, RunEventKind.FINISHED))
