"""A run keeps the previous copy of every customer it overwrites, for RESYNC_KEEP_PREVIOUS_DAYS; every
worker drops the copies that expired."""

from __future__ import annotations

from datetime import timedelta

from kits.reliability import wait_for
from kits.stack import Stack, without_fetched_at
from sqlalchemy import func, select

from sync_engine.broker import EmbeddedWorker, build_broker
from sync_engine.clock import utcnow
from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.runtime import Runtime
from sync_engine.settings import Settings
from sync_engine.store import previous_copies
from sync_engine.store.database import Database
from sync_engine.store.models import PreviousCopyRow, PreviousInvoiceRow


def copies(database: Database, run_id: int) -> dict[str, previous_copies.KeptCopy | None]:
    with database.session() as session:
        wids = [kept.customer_wid for kept in previous_copies.kept_customers(session, run_id)]
        return {wid: previous_copies.load_copy(session, run_id, wid) for wid in wids}


def test_a_run_keeps_each_customer_as_it_was_for_30_days(stack: Stack) -> None:
    wids = stack.sandbox.data.customer_wids[:4]
    first = stack.run(IdentifierType.SOURCE_ID, wids)
    before = {wid: without_fetched_at(stack.stored(wid)) for wid in wids}
    for wid in wids:
        stack.sandbox.data.update_customer(wid, name="Renamed")
    started = utcnow()
    second = stack.run(IdentifierType.SOURCE_ID, wids)
    assert second.status is RunStatus.COMPLETED

    kept = copies(stack.database, second.id)
    assert sorted(kept) == sorted(wids)
    for wid, copy in kept.items():
        assert copy is not None and without_fetched_at(copy.snapshot) == before[wid]
    # The first run imported them: what it found was nothing.
    assert all(
        copy is not None and copy.snapshot is None for copy in copies(stack.database, first.id).values()
    )
    until = stack.service.get(second.id).previous_kept_until
    assert until is not None
    assert started + timedelta(days=30) <= until <= utcnow() + timedelta(days=30)


def test_keep_previous_days_0_keeps_nothing(stack: Stack) -> None:
    stack.rt.settings = stack.settings.model_copy(update={"resync_keep_previous_days": 0})
    run = stack.run(IdentifierType.SOURCE_ID, stack.sandbox.data.customer_wids[:3])
    assert run.status is RunStatus.COMPLETED
    assert copies(stack.database, run.id) == {}
    assert stack.service.get(run.id).previous_kept_until is None


def test_a_worker_drops_the_copies_that_expired(stack: Stack, database: Database) -> None:
    wids = stack.sandbox.data.customer_wids[:3]
    stack.run(IdentifierType.SOURCE_ID, wids)
    expired = stack.run(IdentifierType.SOURCE_ID, wids)
    kept = stack.run(IdentifierType.SOURCE_ID, wids)
    with database.session() as session:
        session.execute(
            PreviousCopyRow.__table__.update()
            .where(PreviousCopyRow.run_id == expired.id)
            .values(keep_until=utcnow() - timedelta(seconds=1))
        )
        expired_documents = session.scalar(
            select(func.count())
            .select_from(PreviousInvoiceRow)
            .join(PreviousCopyRow, PreviousCopyRow.id == PreviousInvoiceRow.copy_id)
            .where(PreviousCopyRow.run_id == expired.id)
        )
    assert expired_documents

    # A worker process starting (as `workday-resync worker` does) drops them.
    settings = Settings(database_url=database.url)
    rt = Runtime(settings, database)
    broker = build_broker(rt)
    try:
        with EmbeddedWorker(rt, broker, threads=1):
            wait_for(lambda: copies(database, expired.id) == {}, 30, "the expired copies to be dropped")
    finally:
        broker.close()
    assert sorted(copies(database, kept.id)) == sorted(wids)
    with database.session() as session:
        orphans = session.scalar(
            select(func.count())
            .select_from(PreviousInvoiceRow)
            .outerjoin(PreviousCopyRow, PreviousCopyRow.id == PreviousInvoiceRow.copy_id)
            .where(PreviousCopyRow.id.is_(None))
        )
    assert orphans == 0
