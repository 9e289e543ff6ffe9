"""Where jobs run: the broker for the settings, the embedded in-process worker, and worker boot.

With REDIS_URL, `workday-resync worker` starts Dramatiq's own worker processes on this module (see
`sync_engine.worker_boot`); without it, the CLI runs an `EmbeddedWorker` inside its own process.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from types import TracebackType

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from sync_engine import jobs, logs
from sync_engine.approval import ApprovalExpiry
from sync_engine.plugins import load_plugins
from sync_engine.resume import Sweeper
from sync_engine.retention import ExpiredCopiesCleaner
from sync_engine.runtime import Runtime
from sync_engine.service import RunService

__all__ = ["EmbeddedWorker", "JobLogContext", "RunMaintenance", "build_broker"]

log = logging.getLogger(__name__)

#: A Redis worker silent this long counts as dead and Dramatiq requeues its unacknowledged messages
#: (Dramatiq's default is 60 s; heartbeats ride on every broker command, about one a second).
HEARTBEAT_TIMEOUT_MS = 15_000
#: Chance per million broker commands of running that requeue (default 1,000): about every 10 s per
#: idle consumer instead of every ~15 minutes.
MAINTENANCE_CHANCE = 100_000
#: How often each worker process looks for interrupted runs, and how quiet a run must be to count.
SWEEP_EVERY = timedelta(seconds=5)
QUIET_FOR = timedelta(seconds=45)


def build_broker(rt: Runtime, *, prometheus: bool = False) -> dramatiq.Broker:
    """Redis when REDIS_URL is set (many processes, many hosts), else an in-memory broker.

    Plugins are installed first, so that their actors are bound with the engine's. With `prometheus`
    (the processes of `workday-resync worker`), Dramatiq's Prometheus middleware counts messages, and
    Dramatiq's CLI forks its exposition server (METRICS_PORT), which also serves `sync_engine.metrics`.
    """
    load_plugins(rt)
    settings = rt.settings
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=settings.redis_url,
            heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=MAINTENANCE_CHANCE,
        )
        if prometheus:
            # Imported here: the module reads its settings from the environment and creates its
            # directory on import.
            from dramatiq.middleware.prometheus import Prometheus

            broker.add_middleware(Prometheus())
    else:
        broker = StubBroker()
    broker.add_middleware(JobLogContext())
    jobs.bind(broker)
    return broker


class JobLogContext(dramatiq.Middleware):
    """Each message starts with no log fields bound (`sync_engine.logs.bind`): one job's run id never
    labels the next one's events, while Dramatiq's own failure and retry events still carry it."""

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        logs.clear()


class RunMaintenance(dramatiq.Middleware):
    """Starts lease renewal, the sweeper for interrupted runs, the clean-up of expired previous copies, the
    end of expired approvals and the plugins' worker tasks (`Runtime.worker_tasks`) in every worker
    process."""

    def __init__(self, rt: Runtime, *, resume_everything_at_boot: bool) -> None:
        self._rt = rt
        # An embedded worker starts with an empty in-memory queue: anything unfinished was lost.
        at_boot = timedelta(0) if resume_everything_at_boot else QUIET_FOR
        self._sweeper = Sweeper(
            rt, jobs.DramatiqDispatcher(), every=SWEEP_EVERY, quiet_for=QUIET_FOR, at_boot=at_boot
        )
        self._cleaner = ExpiredCopiesCleaner(rt.database)
        service = RunService(rt.database, jobs.DramatiqDispatcher(), rt.events)
        self._approvals = ApprovalExpiry(service.approvals())

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._rt.leases.start()
        self._sweeper.start()
        self._cleaner.start()
        self._approvals.start()
        for task in self._rt.worker_tasks:
            task.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        for task in self._rt.worker_tasks:
            task.stop()
        self._approvals.stop()
        self._cleaner.stop()
        self._sweeper.stop()
        self._rt.leases.stop()


class EmbeddedWorker:
    """A Dramatiq worker inside this process, for the embedded mode, the demo and tests."""

    def __init__(
        self, rt: Runtime, broker: dramatiq.Broker, *, threads: int, resume_all_at_start: bool = True
    ) -> None:
        """`resume_all_at_start`: this process owns the store (e.g. `serve`), so with an in-memory broker
        anything unfinished at start was lost and is resumed at once; otherwise only quiet work is."""
        self._broker = broker
        self._threads = threads
        self._maintenance = RunMaintenance(
            rt, resume_everything_at_boot=resume_all_at_start and isinstance(broker, StubBroker)
        )
        self._worker: dramatiq.Worker | None = None

    def __enter__(self) -> EmbeddedWorker:
        self._broker.add_middleware(self._maintenance)
        # The CLI does this for Dramatiq's own workers; without it time limits are not enforced.
        self._broker.emit_after("process_boot")
        self._worker = dramatiq.Worker(self._broker, worker_threads=self._threads, worker_timeout=100)
        self._worker.start()
        return self

    def join(self) -> None:
        """Wait until every queued message has been processed (tests and the CLI use it)."""
        self._broker.join(jobs.QUEUE, timeout=60_000)
        if self._worker is not None:
            self._worker.join()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._worker is not None:
            self._worker.stop(timeout=30_000)
            self._worker = None
        self._broker.middleware.remove(self._maintenance)
