"""How long what an overwrite replaced is kept (RESYNC_KEEP_PREVIOUS_DAYS), and the periodic task that
drops the previous copies that expired."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sync_engine.clock import utcnow
from sync_engine.repeating_task import Periodic
from sync_engine.settings import Settings
from sync_engine.store import previous_copies
from sync_engine.store.customers import KeepPrevious
from sync_engine.store.database import Database

__all__ = ["CLEANUP_EVERY", "ExpiredCopiesCleaner", "drop_expired_copies", "keep_previous"]

log = logging.getLogger(__name__)

#: How often each worker process drops expired copies (each round is cheap when nothing expired).
CLEANUP_EVERY = timedelta(minutes=10)


def keep_previous(settings: Settings, run_id: int, now: datetime | None = None) -> KeepPrevious | None:
    """What an overwrite by `run_id` keeps of the customer it replaces: None when the setting is 0."""
    days = settings.resync_keep_previous_days
    if not days:
        return None
    return KeepPrevious(run_id=run_id, until=(now or utcnow()) + timedelta(days=days))


def drop_expired_copies(database: Database, now: datetime | None = None) -> int:
    """Drop every copy kept until before `now`, a batch per transaction; how many were dropped."""
    moment = now or utcnow()
    dropped = 0
    while True:
        with database.session() as session:
            batch = previous_copies.drop_expired(session, moment)
        dropped += batch
        if batch < previous_copies.DROP_BATCH:
            break
    if dropped:
        log.info("Dropped expired previous copies", extra={"copies": dropped})
    return dropped


class ExpiredCopiesCleaner:
    """Drops expired copies at once and then every `every` on a daemon thread, until stopped. Every worker
    process runs one: deletes by several at once are harmless (each row goes once)."""

    def __init__(self, database: Database, *, every: timedelta = CLEANUP_EVERY) -> None:
        self._database = database
        self._periodic = Periodic("previous-copies-cleanup", self._round, every=every, immediately=True)

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def _round(self) -> None:
        drop_expired_copies(self._database)
