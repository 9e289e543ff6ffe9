"""How long what an overwrite replaced is kept (RESYNC_KEEP_PREVIOUS_DAYS), and the periodic task that
drops the previous copies and the previews' staged snapshots (RESYNC_PREVIEW_TTL) that expired."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sync_engine.clock import utcnow
from sync_engine.repeating_task import Periodic
from sync_engine.settings import Settings
from sync_engine.store import previous_copies, staged_snapshots
from sync_engine.store.customers import KeepPrevious
from sync_engine.store.database import Database

__all__ = [
    "CLEANUP_EVERY",
    "ExpiredCopiesCleaner",
    "drop_expired_copies",
    "drop_expired_previews",
    "keep_previous",
]

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
    dropped = _drop_all(database, previous_copies.drop_expired, previous_copies.DROP_BATCH, now or utcnow())
    if dropped:
        log.info("Dropped expired previous copies", extra={"copies": dropped})
    return dropped


def drop_expired_previews(database: Database, now: datetime | None = None) -> int:
    """Drop the staged snapshots of every preview that expired (RESYNC_PREVIEW_TTL) before `now`."""
    dropped = _drop_all(
        database, staged_snapshots.drop_expired_staged, staged_snapshots.DROP_BATCH, now or utcnow()
    )
    if dropped:
        log.info("Dropped expired preview snapshots", extra={"snapshots": dropped})
    return dropped


def _drop_all(database: Database, drop: Callable[[Session, datetime], int], batch: int, now: datetime) -> int:
    dropped = 0
    while True:
        with database.session() as session:
            done = drop(session, now)
        dropped += done
        if done < batch:
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
        drop_expired_previews(self._database)
