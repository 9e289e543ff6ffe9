"""What the jobs do: resolve a run's identifiers, then fetch customers in groups and overwrite each.

Each step is safe to repeat (Dramatiq delivers at least once): the store's conditional updates decide
whether a step still has anything to do. A group's documents come in shared requests; a customer is
written, with its item's result and counts, in one transaction once all of its documents are in. A group
killed mid-fetch leaves its unwritten customers pending: their leases run out and they are fetched again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

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
from sync_engine.progress import RunEvent, RunEventKind, RunEvents
from sync_engine.retention import keep_previous
from sync_engine.run_errors import START_ATTEMPTS_EXHAUSTED, attempts_unfinished, describe_failure
from sync_engine.runtime import Runtime
from sync_engine.store import customers, items, runs, stops
from sync_engine.store.customers import ConcurrentFirstImportError, overwrite_customer
from sync_engine.store.database import Database
from sync_engine.store.items import ItemToSync

__all__ = [
    "LARGE_CUSTOMER_DOCUMENTS",
    "WriteSnapshot",
    "finish_if_done",
    "plan_groups",
    "report_finished",
    "resolve_run",
    "stop_run",
    "sync_group",
]

log = logging.getLogger(__name__)

#: Claims of one customer before it is marked failed, however they came (Dramatiq retries, or resends by
#: the sweeper after a worker died or a time limit struck): a customer that always fails ends the run.
MAX_ITEM_ATTEMPTS = 4
#: Invoices and credit notes (stored by a customer's last sync) from which it is fetched alone: ten REST
#: pages, two seconds of a 5 requests/s tenant that its group's small customers need not wait.
LARGE_CUSTOMER_DOCUMENTS = 1_000
#: Writes of a customer whose first import raced another transaction's, before the job retries.
FIRST_IMPORT_WRITES = 3
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


def plan_groups(rt: Runtime, item_ids: Sequence[int]) -> list[list[int]]:
    """The items to fetch together, in groups the Workday client takes in one request each
    (`customers_per_group`), in the order given. A customer whose last sync stored at least
    `LARGE_CUSTOMER_DOCUMENTS` invoices and credit notes is fetched alone, first: its many pages would
    otherwise hold back the small customers of its group (the client splits an unknown one by its first
    page's total)."""
    with rt.database.session() as session:
        wids = items.customer_wids(session, item_ids)
        stored = customers.stored_receivables(session, list(set(wids.values())))
    large = [item for item in item_ids if stored.get(wids.get(item, ""), 0) >= LARGE_CUSTOMER_DOCUMENTS]
    rest = [item for item in item_ids if item not in set(large)]
    size = rt.workday().customers_per_group
    return [[item] for item in large] + [rest[start : start + size] for start in range(0, len(rest), size)]


def sync_group(
    rt: Runtime,
    item_ids: Sequence[int],
    *,
    final_attempt: bool,
    write: WriteSnapshot | None = None,
    outcome: metrics.CustomerOutcome = "synced",
) -> list[list[int]]:
    """Fetch a group of customers together; overwrite each, with its item's result, in a transaction of
    its own as soon as all of its documents are in (`write`, for a preview: stage it instead, `outcome`
    "staged"). Returns groups to send again (see below).

    Each item is claimed (leased) first: a redelivered message finds its items synced or held by a live
    worker and does nothing. Transient failures release the items not written yet and raise so the job
    retries them, except on an item's final attempt, where it is marked failed and the run carries on. A
    permanent failure of a group of several (a customer Workday no longer knows fails the whole request)
    sends each customer not written yet again alone, so that only the one it concerns fails.
    """
    claimed: dict[int, ItemToSync] = {}
    # One transaction: of two deliveries of a group at once, one takes every item, the other none (item
    # by item, they could share a group out and fetch it twice).
    with rt.database.session() as session:
        now = utcnow()
        taken = [items.claim_item(session, item_id, rt.worker_id, now, ITEM_LEASE) for item_id in item_ids]
    for item_id, item in zip(item_ids, taken, strict=True):
        if item is None:
            log.info("Item already synced or held by another worker", extra={"item_id": item_id})
        elif item.attempts > MAX_ITEM_ATTEMPTS:
            # Earlier attempts never came back (killed worker, time limit): stop trying.
            _fail(rt, item, attempts_unfinished(MAX_ITEM_ATTEMPTS))
        else:
            rt.leases.hold(item_id)
            claimed[item_id] = item
    if not claimed:
        return []
    run_id = next(iter(claimed.values())).run_id
    wids = list(dict.fromkeys(item.customer.wid for item in claimed.values()))
    # Workday client and Dramatiq events of this job carry the run and its customers.
    logs.bind(run_id=run_id, wid=None, wids=wids)
    log.info("Fetching customers", extra={"run_id": run_id, "wids": wids})
    unwritten = dict(claimed)
    by_wid: dict[str, list[ItemToSync]] = {}
    for item in claimed.values():
        by_wid.setdefault(item.customer.wid, []).append(item)

    def hand_over(snapshot: CustomerSnapshot) -> None:
        for item in by_wid.get(snapshot.customer.wid, []):
            written = _write_customer(rt, item, snapshot, write or _write, outcome)
            unwritten.pop(item.item_id, None)
            rt.leases.release(item.item_id)
            if not written and _run_ended(rt, run_id):
                raise _RunEnded  # stopped: the group's other customers were skipped, ask Workday no more

    try:
        rt.workday().fetch_customers([item.customer for item in claimed.values()], hand_over)
    except _RunEnded:
        log.info("Run ended while its customers were fetched; fetch abandoned", extra={"run_id": run_id})
        return []
    except (WorkdayConfigurationError, WorkdayUnresponsiveError) as error:
        # Every other customer would fail (or, on a hung Workday, wait) the same way.
        stop_run(rt, run_id, str(error))
        return []
    except WorkdayPermanentError as error:
        if len({item.customer.wid for item in unwritten.values()}) > 1:
            log.warning(
                "Customers not synced together; each is fetched again alone",
                extra={"run_id": run_id, "customers": len(unwritten), "error": str(error)},
            )
            _release(rt, unwritten)
            return [[item_id] for item_id in unwritten]
        for item in unwritten.values():
            _fail(rt, item, str(error))
        return []
    except Exception as error:
        # Transient Workday trouble, a dropped database connection, a bug: retry while we may.
        retrying = {
            item_id: item
            for item_id, item in unwritten.items()
            if not (final_attempt or item.attempts >= MAX_ITEM_ATTEMPTS)
        }
        for item_id, item in unwritten.items():
            if item_id not in retrying:
                _fail(rt, item, describe_failure(error))
        if not retrying:
            return []
        log.warning(
            "Customers not synced yet; the job will retry",
            extra={"run_id": run_id, "customers": len(retrying), "error": describe_failure(error)},
        )
        _release(rt, retrying)
        raise
    finally:
        for item_id in claimed:
            rt.leases.release(item_id)
    finish_if_done(rt, run_id)
    return []


def _write_customer(
    rt: Runtime,
    item: ItemToSync,
    snapshot: CustomerSnapshot,
    write: WriteSnapshot,
    outcome: metrics.CustomerOutcome,
) -> bool:
    customer = {"run_id": item.run_id, "wid": item.customer.wid}
    counts = {
        "invoices": len(snapshot.invoices),
        "payments": len(snapshot.payments),
        "credit_notes": len(snapshot.credit_notes),
    }
    log.info("Customer fetched", extra={**customer, **counts})
    if not write(rt, item, snapshot):
        return False
    metrics.customer_done(outcome, **counts)
    log.info("Customer written", extra={**customer, **counts, "outcome": outcome})
    rt.events.publish(RunEvent(item.run_id, RunEventKind.PROGRESS))
    return True


class _RunEnded(Exception):
    """The run of a group being fetched ended (an admin stopped it): fetch no more of it."""


def _run_ended(rt: Runtime, run_id: int) -> bool:
    with rt.database.session() as session:
        return runs.get_run(session, run_id).is_final


def _release(rt: Runtime, held: dict[int, ItemToSync]) -> None:
    with rt.database.session() as session:
        for item_id in held:
            items.release_item(session, item_id, rt.worker_id)


def finish_if_done(rt: Runtime, run_id: int) -> None:
    """Close the run if every item is final; publish once, from whichever caller closed it."""
    with rt.database.session() as session:
        status = runs.finish_run_if_done(session, run_id, utcnow())
    if status is not None:
        report_finished(rt.database, rt.events, run_id)


class _AlreadySynced(Exception):
    """Another delivery of this item committed first: roll this write back."""


def _write(rt: Runtime, item: ItemToSync, snapshot: CustomerSnapshot) -> bool:
    # A first import racing another run's is rolled back and written again at once, its copy kept right:
    # the job's retry would fetch the customer's whole group again.
    for attempt in range(1, FIRST_IMPORT_WRITES + 1):
        try:
            with rt.database.session() as session:
                # The item first: a stop waits for this write, or this write sees the item skipped.
                if not stops.lock_pending_item(session, item.item_id):
                    raise _AlreadySynced
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
        except ConcurrentFirstImportError:
            if attempt == FIRST_IMPORT_WRITES:
                raise
            continue
        return True
    raise AssertionError("unreachable")


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
        report_finished(rt.database, rt.events, run_id)


def report_finished(database: Database, events: RunEvents, run_id: int) -> None:
    """Count, log and publish a run that this process just closed."""
    with database.session() as session:
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
    events.publish(RunEvent(run_id, RunEventKind.FINISHED))
