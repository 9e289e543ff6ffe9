"""The previous copy an overwrite keeps: the customer's rows exactly as they were, in the same transaction,
tied to the run, until they expire."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from kits.stack import without_fetched_at
from sqlalchemy import func, select

from sync_engine.domain import CustomerSnapshot, IdentifierType, RunStatus
from sync_engine.retention import drop_expired_copies
from sync_engine.store import previous_copies, runs
from sync_engine.store.customers import KeepPrevious, load_customer, overwrite_customer
from sync_engine.store.database import Database
from sync_engine.store.models import (
    PreviousCopyRow,
    PreviousCreditNoteRow,
    PreviousInvoiceRow,
    PreviousPaymentRow,
)
from sync_engine.workday.sandbox import SandboxData

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KEEP = timedelta(days=30)


@pytest.fixture
def data() -> SandboxData:
    return SandboxData.generate(customers=3, seed=5)


def new_run(database: Database) -> int:
    with database.session() as session:
        return runs.create_run(
            session,
            identifier_type=IdentifierType.SOURCE_ID,
            identifiers=["x"],
            requested_by="U_TEST",
            status=RunStatus.RECEIVED,
            now=T0,
        )


def write(database: Database, snapshot: CustomerSnapshot, run_id: int, *, at: datetime) -> bool:
    with database.session() as session:
        keep = KeepPrevious(run_id=run_id, until=at + KEEP)
        return overwrite_customer(
            session, replace(snapshot, fetched_at=at), run_id=run_id, keep_previous=keep
        ).written


def changed(snapshot: CustomerSnapshot) -> CustomerSnapshot:
    """Every kind changed: the customer renamed, an invoice's amount, a credit note and a payment dropped,
    a payment's memo."""
    return replace(
        snapshot,
        customer=replace(snapshot.customer, name=snapshot.customer.name + " V2"),
        invoices=[replace(snapshot.invoices[0], total_amount=Decimal("1.23")), *snapshot.invoices[1:]],
        credit_notes=snapshot.credit_notes[1:],
        payments=[replace(payment, memo="V2") for payment in snapshot.payments[1:]],
    )


def kept(database: Database, run_id: int, wid: str) -> previous_copies.KeptCopy | None:
    with database.session() as session:
        return previous_copies.load_copy(session, run_id, wid)


def kept_rows(database: Database) -> tuple[int, int, int, int]:
    with database.session() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (PreviousCopyRow, PreviousInvoiceRow, PreviousCreditNoteRow, PreviousPaymentRow)
        )


def test_an_overwrite_keeps_the_customer_and_every_document_as_they_were(
    database: Database, data: SandboxData
) -> None:
    wid = data.big_customer_wid
    old = data.snapshot(wid)
    assert old.invoices and old.credit_notes and old.payments
    first, second = new_run(database), new_run(database)
    write(database, old, first, at=T0)
    write(database, changed(old), second, at=T0 + timedelta(hours=1))

    copy = kept(database, second, wid)
    assert copy is not None and copy.snapshot is not None
    assert without_fetched_at(copy.snapshot) == without_fetched_at(old)
    assert copy.snapshot.fetched_at == T0  # the snapshot time it had, for putting it back
    assert copy.keep_until == T0 + timedelta(hours=1) + KEEP
    # The first run found nothing: its copy says so.
    first_copy = kept(database, first, wid)
    assert first_copy is not None and first_copy.snapshot is None
    # The store holds the new data all the same.
    with database.session() as session:
        assert without_fetched_at(load_customer(session, wid)) == without_fetched_at(changed(old))


def test_a_rolled_back_overwrite_keeps_no_copy(database: Database, data: SandboxData) -> None:
    wid = data.big_customer_wid
    old = data.snapshot(wid)
    first, second = new_run(database), new_run(database)
    write(database, old, first, at=T0)
    before = kept_rows(database)
    with pytest.raises(RuntimeError), database.session() as session:
        keep = KeepPrevious(run_id=second, until=T0 + KEEP)
        new = replace(changed(old), fetched_at=T0 + timedelta(hours=1))
        overwrite_customer(session, new, run_id=second, keep_previous=keep)
        raise RuntimeError("the item's result failed to record")
    assert kept(database, second, wid) is None
    assert kept_rows(database) == before


def test_an_older_snapshot_refused_keeps_no_copy(database: Database, data: SandboxData) -> None:
    wid = data.big_customer_wid
    first, late = new_run(database), new_run(database)
    write(database, data.snapshot(wid), first, at=T0)
    assert not write(database, changed(data.snapshot(wid)), late, at=T0 - timedelta(hours=1))
    assert kept(database, late, wid) is None


def test_a_run_keeps_the_customer_as_it_first_found_it(database: Database, data: SandboxData) -> None:
    wid = data.big_customer_wid
    old = data.snapshot(wid)
    first, second = new_run(database), new_run(database)
    write(database, old, first, at=T0)
    write(database, changed(old), second, at=T0 + timedelta(hours=1))
    write(database, changed(changed(old)), second, at=T0 + timedelta(hours=2))
    copy = kept(database, second, wid)
    assert copy is not None and without_fetched_at(copy.snapshot) == without_fetched_at(old)


def test_expired_copies_are_dropped_with_their_documents_and_the_others_stay(
    database: Database, data: SandboxData
) -> None:
    wid = data.big_customer_wid
    old = data.snapshot(wid)
    first, second, third = new_run(database), new_run(database), new_run(database)
    write(database, old, first, at=T0)
    write(database, changed(old), second, at=T0 + timedelta(days=1))  # kept until T0 + 31 days
    write(database, old, third, at=T0 + timedelta(days=10))  # kept until T0 + 40 days
    documents = len(old.invoices) + len(old.credit_notes) + len(old.payments)
    assert sum(kept_rows(database)) == 3 + documents + sum(map(len, without_fetched_at(changed(old))[1:]))

    assert drop_expired_copies(database, now=T0 + timedelta(days=35)) == 2
    assert kept(database, first, wid) is None and kept(database, second, wid) is None
    remaining = kept(database, third, wid)
    assert remaining is not None and remaining.snapshot is not None
    changed_documents = sum(map(len, without_fetched_at(changed(old))[1:]))
    assert kept_rows(database) == (
        1,
        len(changed(old).invoices),
        len(changed(old).credit_notes),
        len(changed(old).payments),
    )
    assert sum(kept_rows(database)) == 1 + changed_documents
    assert drop_expired_copies(database, now=T0 + timedelta(days=35)) == 0
