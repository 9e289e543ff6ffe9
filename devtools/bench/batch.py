"""One batch on the real path: the sandbox over sockets in this process, the engine in a child process.

The child is a worker process as deployed: store, Workday client, broker and a real Dramatiq worker (the
embedded in-memory broker, or Redis when given). Running it apart keeps the sandbox's CPU and memory out
of its figures: its peak RSS is the worker's own.
"""

from __future__ import annotations

import multiprocessing
import resource
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import redis

from devtools.bench.scenario import Caps
from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.workday.sandbox import DEFAULT_API_VERSION, Sandbox

__all__ = ["BatchResult", "run_batch"]

#: The settings' ceiling on WORKDAY_RATE_LIMIT, used for "no rate cap".
NO_RATE_CAP = 1000.0
#: Longest a benchmark batch may take before it counts as stuck.
BATCH_TIMEOUT = 30 * 60.0


@dataclass(frozen=True, slots=True)
class BatchResult:
    status: RunStatus
    #: Seconds from submitting the run to its final state.
    wall: float
    #: Requests the sandbox answered during the run (token and retries included).
    requests: int
    #: Of those, answered "throttled" (REST 429, SOAP plain HTTP 500) by the sandbox's limiter.
    throttled: int
    documents: int
    #: Peak resident memory of the worker process, bytes.
    peak_rss: int
    #: CPU seconds the worker process spent during the run (all its threads).
    cpu: float


def run_batch(
    sandbox: Sandbox,
    wids: list[str],
    *,
    database_url: str,
    caps: Caps,
    redis_url: str | None = None,
    worker_threads: int = 8,
) -> BatchResult:
    """Sync `wids` (by WID) with a fresh worker process on `database_url`; count what the sandbox saw."""
    settings: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "workday_base_url": sandbox.base_url,
        "workday_tenant": sandbox.tenant,
        "workday_client_id": sandbox.client_id,
        "workday_client_secret": sandbox.client_secret,
        "workday_refresh_token": sandbox.refresh_token,
        "workday_api_version": DEFAULT_API_VERSION,
        "workday_max_in_flight": caps.max_in_flight,
        "workday_rate_limit": caps.rate_limit or NO_RATE_CAP,
        "workday_invoices_page_size": caps.invoices_page_size,
        "workday_payments_page_size": caps.payments_page_size,
        "workday_customers_per_group": caps.customers_per_group,
        "worker_threads": worker_threads,
        "slack_bot_token": None,  # no front end: the engine alone
    }
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_worker_process, args=(child, settings, wids), name="bench-worker")
    process.start()
    try:
        _expect(parent, process, "ready")
        sandbox.stats.reset()
        parent.send("go")
        result: tuple[str, float, int, int, float] = _expect(parent, process, "done")
        requests = sandbox.stats.total()
        throttled = sandbox.stats.count(outcome="throttled")
    finally:
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
    status, wall, documents, peak_rss, cpu = result
    return BatchResult(RunStatus(status), wall, requests, throttled, documents, peak_rss, cpu)


def _expect(connection: Connection, process: Any, what: str) -> Any:
    if not connection.poll(BATCH_TIMEOUT):
        raise RuntimeError(f"The benchmark worker sent no {what!r} within {BATCH_TIMEOUT:g} s.")
    try:
        message = connection.recv()
    except EOFError:
        raise RuntimeError(f"The benchmark worker died (exit code {process.exitcode}).") from None
    if message[0] == "error":
        raise RuntimeError(f"The benchmark worker failed: {message[1]}")
    return message[1]


def _worker_process(connection: Connection, values: dict[str, Any], wids: list[str]) -> None:
    """The child: stand up the engine, wait for the word, run the batch, report."""
    try:
        connection.send(("done", _run(connection, values, wids)))
    except BaseException as error:
        connection.send(("error", f"{type(error).__name__}: {error}"))
        raise


def _run(
    connection: Connection, values: dict[str, Any], wids: list[str]
) -> tuple[str, float, int, int, float]:
    # Imported here: the parent process needs none of the engine's machinery.
    from bot.settings import AppSettings
    from sync_engine import jobs
    from sync_engine.broker import EmbeddedWorker, build_broker
    from sync_engine.progress import RunEvent, RunEventKind
    from sync_engine.runtime import Runtime, configure
    from sync_engine.service import RunService
    from sync_engine.store.database import Database

    # The Slack side's settings too, so that `slack_bot_token=None` keeps the environment's out.
    settings = AppSettings(_env_file=None, **values)
    database = Database(settings.database_url)
    database.migrate()
    rt = configure(Runtime(settings, database))
    broker = build_broker(rt)
    service = RunService(database, jobs.DramatiqDispatcher(), rt.events)
    finished = threading.Event()

    def on_event(event: RunEvent) -> None:
        if event.kind is RunEventKind.FINISHED:
            finished.set()

    rt.events.subscribe(on_event)
    try:
        with EmbeddedWorker(rt, broker, threads=settings.worker_threads, resume_all_at_start=False):
            connection.send(("ready", None))
            connection.recv()
            started, cpu_started = time.perf_counter(), time.process_time()
            run = service.submit(IdentifierType.SOURCE_ID, wids, requested_by="bench")
            # Events of this process wake us at once; the poll covers a Redis broker's other consumers.
            while not finished.wait(0.5) and not service.get(run.id).is_final:
                pass
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            final = service.get(run.id)
    finally:
        broker.close()
        rt.close()
        if settings.redis_url:
            # The batch's tenant is gone with its sandbox: drop its token state (runtime's key).
            redis.Redis.from_url(settings.redis_url).delete(f"workday-resync:token:{settings.workday_tenant}")
    counts = final.counts
    documents = counts.invoices + counts.payments + counts.credit_notes
    # ru_maxrss is in KiB on Linux.
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return final.status.value, wall, documents, peak_rss, cpu
