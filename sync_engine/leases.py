"""Keeps the items this process works on leased to it, so that other workers leave them alone.

A worker that dies stops renewing; its items' leases run out and the sweeper sends them again.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sync_engine.clock import utcnow
from sync_engine.store import runs
from sync_engine.store.database import Database

__all__ = ["LeaseKeeper"]

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews, every `renew_every`, the leases of the items this process holds, up to now + `lease`."""

    def __init__(self, database: Database, owner: str, *, lease: timedelta, renew_every: timedelta) -> None:
        self._database = database
        self._owner = owner
        self._lease = lease
        self._renew_every = renew_every
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, item_id: int) -> None:
        with self._lock:
            self._held.add(item_id)

    def release(self, item_id: int) -> None:
        with self._lock:
            self._held.discard(item_id)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def renew(self) -> None:
        with self._lock:
            held = sorted(self._held)
        if held:
            with self._database.session() as session:
                runs.renew_leases(session, self._owner, held, utcnow() + self._lease)

    def _run(self) -> None:
        while not self._stop.wait(self._renew_every.total_seconds()):
            try:
                self.renew()
            except Exception:
                # The store may be briefly unreachable; the lease is long enough to try again.
                log.warning("Could not renew item leases", exc_info=True)
