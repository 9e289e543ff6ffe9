"""The time to overwrite one customer holding 10,000 documents, as a re-import does (keeping the previous
copy, as by default)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.store.customers import KeepPrevious, overwrite_customer
from sync_engine.store.database import Database
from sync_engine.store.runs import create_run
from sync_engine.workday.sandbox import SandboxData

__all__ = ["time_overwrite"]


def time_overwrite(database_url: str, documents: int = 10_000) -> float:
    """Seconds for the second write of one customer's `documents` (the first one imports it)."""
    # The generator gives a big customer 1.6 documents per invoice (credit notes, payments).
    data = SandboxData.generate(customers=1, seed=7, big_customer_documents=round(documents / 1.6))
    snapshot = data.snapshot(data.big_customer_wid)
    database = Database(database_url)
    try:
        database.migrate()
        now = datetime.now(UTC)
        with database.session() as session:
            overwrite_customer(session, replace(snapshot, fetched_at=now), run_id=None)
        with database.session() as session:
            run_id = create_run(
                session,
                identifier_type=IdentifierType.SOURCE_ID,
                identifiers=[snapshot.customer.wid],
                requested_by="bench",
                status=RunStatus.RECEIVED,
                now=now,
            )
        # As a run does with RESYNC_KEEP_PREVIOUS_DAYS on (the default): the 10,000 rows it replaces kept.
        keep = KeepPrevious(run_id=run_id, until=now + timedelta(days=30))
        later = replace(snapshot, fetched_at=now + timedelta(seconds=1))
        started = time.perf_counter()
        with database.session() as session:
            overwrite_customer(session, later, run_id=run_id, keep_previous=keep)
        return time.perf_counter() - started
    finally:
        database.dispose()
