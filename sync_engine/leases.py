"""Keeps the items this process works on leased to it, so that other workers leave them alone.

A worker that dies stops renewing; its items' leases run out and the sweeper sends them again.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sync_engine.clock import utcnow
from sync_engine.repeating_task import Periodic
from sync_engine.store import items
from sync_engine.store.database import Database

__all__ = ["ITEM_LEASE", "LEASE_RENEWAL", "LeaseKeeper"]

#: How long a claimed item stays with its worker without renewal.
ITEM_LEASE = timedelta(seconds=15)
#: How often a live worker renews its leases (well inside ITEM_LEASE).
LEASE_RENEWAL = timedelta(seconds=3)


class LeaseKeeper:
    """Renews, every `renew_every`, the leases of the items this process holds, up to now + `lease`."""

    def __init__(self, database: Database, owner: str, *, lease: timedelta, renew_every: timedelta) -> None:
        self._database = database
        self._owner = owner
        self._lease = lease
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._renewer = Periodic("lease-keeper", self.renew, every=renew_every, immediately=False)

    def hold(self, item_id: int) -> None:
        with self._lock:
            self._held.add(item_id)

    def release(self, item_id: int) -> None:
        with self._lock:
            self._held.discard(item_id)

    def start(self) -> None:
        self._renewer.start()

    def stop(self) -> None:
        self._renewer.stop()

    def renew(self) -> None:
        with self._lock:
            held = sorted(self._held)
        if held:
            with self._database.session() as session:
                items.renew_leases(session, self._owner, held, utcnow() + self._lease)
