"""Module Dramatiq's CLI imports in each worker process (`workday-resync worker` starts it).

Importing it configures this process: settings, store, runtime, the Redis broker and its actors.
"""

from __future__ import annotations

from sync_engine.logs import configure_logging
from sync_engine.runtime import Runtime, configure
from sync_engine.settings import load_settings
from sync_engine.store.database import Database
from sync_engine.worker import RunMaintenance, build_broker

configure_logging()
_settings = load_settings()
_runtime = configure(Runtime(_settings, Database(_settings.database_url)))
broker = build_broker(_runtime)
broker.add_middleware(RunMaintenance(_runtime, resume_everything_at_boot=False))
