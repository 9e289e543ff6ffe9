"""The store's side of a stop: a customer's write locks its item first, and lease renewals of the
process's other items never wait for that write."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from sync_engine.clock import utcnow
from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.store import items, runs, stops
from sync_engine.store.database import Database
from sync_engine.store.models import RunItemRow


@pytest.mark.postgres
def test_lease_renewals_pass_over_the_item_being_written(postgres_database: Database) -> None:
    database = postgres_database
    now = utcnow()
    with database.session() as session:
        runs.create_run(
            session,
            identifier_type=IdentifierType.SOURCE_ID,
            identifiers=["a" * 32, "b" * 32],
            requested_by="U",
            status=RunStatus.RECEIVED,
            now=now,
            resolved=True,
        )
        item_ids = [item.id for item in session.query(RunItemRow).order_by(RunItemRow.position)]
        for item_id in item_ids:
            assert items.claim_item_by_wid(session, item_id, "w1", now, timedelta(seconds=15))
    writing, other = item_ids
    later = now + timedelta(minutes=5)

    renewed = threading.Event()

    def renew() -> None:
        with database.session() as session:
            items.renew_leases(session, "w1", item_ids, later)
        renewed.set()

    with database.session() as write:
        assert stops.lock_pending_item(write, writing)  # a customer's write, under way
        threading.Thread(target=renew, daemon=True).start()
        assert renewed.wait(timeout=30)  # not held until the write commits

    with database.session() as session:
        leases = {item.id: item.lease_until for item in session.query(RunItemRow)}
    assert leases[other] == later and leases[writing] != later
