"""Module Dramatiq's CLI imports in each worker process (`workday-resync worker` starts it).

Importing it configures this process: settings, store, runtime, the Redis broker and its actors, and
Prometheus metrics when `workday-resync worker` set them up (a bare `dramatiq` run has none).
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

from sync_engine.broker import RunMaintenance, build_broker
from sync_engine.logs import configure_logging
from sync_engine.metrics import worker_metrics_configured
from sync_engine.runtime import Runtime, configure
from sync_engine.settings import load_settings
from sync_engine.store.database import Database

#: Seconds within which a second SIGTERM is the same stop request delivered twice.
DUPLICATE_SIGTERM_WINDOW = 1.0


def _one_stop_per_group_sigterm() -> None:
    """A SIGTERM sent to the whole process group (honcho, Heroku, systemd's default KillMode) reaches a
    worker process twice: directly, and forwarded by Dramatiq's main process at once. Dramatiq reads a
    second SIGTERM as "exit now, abandon the job"; here only one that comes a second later does."""
    dramatiq_handler = signal.getsignal(signal.SIGTERM)
    if not callable(dramatiq_handler) or threading.current_thread() is not threading.main_thread():
        return
    first: float | None = None

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal first
        now = time.monotonic()
        if first is not None and now - first < DUPLICATE_SIGTERM_WINDOW:
            return
        first = first if first is not None else now
        dramatiq_handler(signum, frame)

    signal.signal(signal.SIGTERM, handler)


_one_stop_per_group_sigterm()
configure_logging()
_settings = load_settings()
_runtime = configure(Runtime(_settings, Database(_settings.database_url)))
broker = build_broker(_runtime, prometheus=worker_metrics_configured())
broker.add_middleware(RunMaintenance(_runtime, resume_everything_at_boot=False))
