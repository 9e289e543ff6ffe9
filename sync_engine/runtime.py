"""What a process needs to run jobs: settings, store, Workday client, run events, its identity.

One `Runtime` per process, configured at start (CLI command or worker boot) and read by the jobs.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from sync_engine.errors import SettingsError
from sync_engine.leases import ITEM_LEASE, LEASE_RENEWAL, LeaseKeeper
from sync_engine.progress import RunEvents
from sync_engine.settings import Settings
from sync_engine.store.database import Database
from sync_engine.workday import WorkdayClient
from sync_engine.workday_client import build_workday_client

__all__ = ["Runtime", "WorkerTask", "configure", "current"]


class WorkerTask(Protocol):
    """Background work a worker process runs beside its jobs (e.g. a `repeating_task.Periodic`)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Runtime:
    settings: Settings
    database: Database
    events: RunEvents = field(default_factory=RunEvents)
    #: Names this process in item leases; unique across hosts and restarts.
    worker_id: str = field(default_factory=_worker_id)
    #: Set by tests and the demo to use a client built elsewhere (e.g. for a sandbox).
    workday_client: WorkdayClient | None = None
    #: Names of the plugins installed into this runtime (see `sync_engine.plugins`).
    plugins: set[str] = field(default_factory=set)
    #: Started when a worker boots here and stopped when it shuts down (`sync_engine.broker`); plugins add
    #: theirs in `install(rt)`. Processes that only send work (the CLI, `serve` with Redis) never start them.
    worker_tasks: list[WorkerTask] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    leases: LeaseKeeper = field(init=False)

    def __post_init__(self) -> None:
        self.leases = LeaseKeeper(self.database, self.worker_id, lease=ITEM_LEASE, renew_every=LEASE_RENEWAL)

    def workday(self) -> WorkdayClient:
        """The process's Workday client, built on first use (a missing setting raises `SettingsError`)."""
        with self._lock:
            if self.workday_client is None:
                self.workday_client = build_workday_client(self.settings)
            return self.workday_client

    def close(self) -> None:
        self.leases.stop()
        with self._lock:
            if self.workday_client is not None:
                self.workday_client.close()
                self.workday_client = None
        self.database.dispose()


_current: Runtime | None = None


def configure(runtime: Runtime) -> Runtime:
    """Make `runtime` the one the jobs of this process use."""
    global _current
    _current = runtime
    return runtime


def current() -> Runtime:
    if _current is None:
        raise SettingsError("The engine is not configured in this process (no runtime).")
    return _current
