"""Stand up the engine in this process: store, runtime, plugins, broker, and an embedded worker if needed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sync_engine import jobs
from sync_engine.broker import EmbeddedWorker, build_broker
from sync_engine.progress import RunObserver
from sync_engine.runtime import Runtime, configure
from sync_engine.service import RunService
from sync_engine.settings import Settings
from sync_engine.store.database import Database

__all__ = ["open_engine"]


@contextmanager
def open_engine(
    settings: Settings, *, work: bool, resume_all: bool = False, observers: Iterable[RunObserver] = ()
) -> Iterator[tuple[RunService, Runtime]]:
    """The run service on a migrated store; with `work` and no Redis, an embedded worker runs too.

    Front ends (CLI, demo, Slack server) open the engine through this one door. `resume_all`: the
    long-running server resumes every unfinished run at start; a one-off CLI command only quiet ones.
    `observers` hear the run events from before the worker starts (e.g. the runs it resumes at boot).
    """
    database = Database(settings.database_url)
    database.migrate()
    rt = configure(Runtime(settings, database))
    for observer in observers:
        rt.events.subscribe(observer)
    broker = build_broker(rt)
    service = RunService(
        database,
        jobs.DramatiqDispatcher(),
        rt.events,
        approval_above=settings.resync_approval_above,
        require_reason=settings.resync_require_reason,
    )
    try:
        if work and not settings.redis_url:
            with EmbeddedWorker(rt, broker, threads=settings.worker_threads, resume_all_at_start=resume_all):
                yield service, rt
        else:
            yield service, rt
    finally:
        rt.close()
