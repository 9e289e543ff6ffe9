"""Overwrite one stored customer and its documents with a Workday snapshot, and read them back.

An overwrite runs in the caller's transaction, so the customer, its documents and whatever the caller
records alongside (the run item's progress) commit together or not at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import KeyedColumnElement

from sync_engine.domain import CreditNote, Customer, CustomerSnapshot, Invoice, Payment
from sync_engine.store import previous_copies
from sync_engine.store.models import Base, CreditNoteRow, CustomerRow, InvoiceRow, PaymentRow
from sync_engine.store.record_fields import CUSTOMER_FIELDS, DOCUMENT_FIELDS

__all__ = [
    "ConcurrentFirstImportError",
    "KeepPrevious",
    "OverwriteOutcome",
    "StoredCustomer",
    "load_customer",
    "lock_stored_customer",
    "overwrite_customer",
    "remove_customer",
    "stored_receivables",
]

# Core tables, not ORM classes: bulk statements without the unit of work's per-row bookkeeping.
_customers = Base.metadata.tables[CustomerRow.__tablename__]
_invoices = Base.metadata.tables[InvoiceRow.__tablename__]
_credit_notes = Base.metadata.tables[CreditNoteRow.__tablename__]
_payments = Base.metadata.tables[PaymentRow.__tablename__]

Document: TypeAlias = Invoice | CreditNote | Payment
D = TypeVar("D", Invoice, CreditNote, Payment)
T = TypeVar("T")
Excluded: TypeAlias = ReadOnlyColumnCollection[str, KeyedColumnElement[Any]]
Upsert: TypeAlias = postgresql.Insert | sqlite.Insert

#: Documents per upsert statement (PostgreSQL) or executemany batch (SQLite): bounds one statement's size.
ROWS_PER_UPSERT = 5_000
#: Ids per DELETE ... IN (...): under every bind-parameter limit (SQLite's was 999 before 3.32).
IDS_PER_DELETE = 900


@dataclass(frozen=True, slots=True)
class OverwriteOutcome:
    """What an overwrite did: whether it wrote, and the snapshot's documents counted once per wid."""

    written: bool
    invoices: int
    payments: int
    credit_notes: int


@dataclass(frozen=True, slots=True)
class KeepPrevious:
    """Keep the customer as it was before the overwrite, for `run_id`, until `until`."""

    run_id: int
    until: datetime


class ConcurrentFirstImportError(Exception):
    """Another transaction stored the customer while this one imported it for the first time, so the copy
    kept of "not stored yet" would be wrong: roll back and try again (the job retries)."""


def overwrite_customer(
    session: Session,
    snapshot: CustomerSnapshot,
    *,
    run_id: int | None,
    keep_previous: KeepPrevious | None = None,
    newer_wins: bool = True,
) -> OverwriteOutcome:
    """Make the stored customer and its documents exactly `snapshot`, unless a newer one is stored.

    Runs in the caller's transaction and does not commit. When the stored snapshot is newer, nothing is
    written and `written` is False. Documents are upserted by wid, so one that Workday moved here from
    another customer changes hands (unless that customer's stored snapshot is newer than this one), and
    this customer's documents that the snapshot no longer has are deleted. With `keep_previous`, the
    customer's rows as they were are kept first (`store.previous_copies`). `newer_wins=False` writes the
    snapshot however old it is (a restore puts back an older copy on purpose).
    """
    by_kind: list[tuple[Table, list[Document]]] = [
        (_invoices, _unique_by_wid(snapshot.invoices)),
        (_credit_notes, _unique_by_wid(snapshot.credit_notes)),
        (_payments, _unique_by_wid(snapshot.payments)),
    ]
    invoices, credit_notes, payments = (len(documents) for _, documents in by_kind)
    synced_at = datetime.now(UTC)

    written = OverwriteOutcome(written=True, invoices=invoices, payments=payments, credit_notes=credit_notes)
    stored = None
    if keep_previous is not None:
        stored = _lock_customer(session, snapshot.customer.wid)
        if stored is not None and newer_wins and stored.snapshot_at > snapshot.fetched_at:
            return dataclasses.replace(written, written=False)  # the upsert's guard, before keeping a copy
        _keep_previous(session, snapshot.customer.wid, stored, keep_previous, synced_at)
    customer_pk, inserted = _upsert_customer(
        session, snapshot, run_id=run_id, synced_at=synced_at, newer_wins=newer_wins
    )
    if keep_previous is not None and stored is None and not inserted:
        # Stored by another transaction since our lock found nothing: the copy kept says "not stored".
        raise ConcurrentFirstImportError(f"Customer {snapshot.customer.wid} was stored meanwhile; retry.")
    if customer_pk is not None:
        for table, documents in by_kind:
            _replace_documents(
                session, table, customer_pk, documents, snapshot.fetched_at, synced_at, newer_wins=newer_wins
            )
    return dataclasses.replace(written, written=customer_pk is not None)


def remove_customer(session: Session, wid: str, *, keep_previous: KeepPrevious | None) -> bool:
    """Delete the stored customer and its documents (a restore of a first import); False if not stored."""
    stored = _lock_customer(session, wid)
    if stored is None:
        return False
    if keep_previous is not None:
        _keep_previous(session, wid, stored, keep_previous, datetime.now(UTC))
    session.execute(delete(_customers).where(_customers.c.id == stored.id))
    return True


@dataclass(frozen=True, slots=True)
class StoredCustomer:
    """The stored customer row's bookkeeping: which write the store holds."""

    id: int
    snapshot_at: datetime
    synced_at: datetime
    #: The run whose write it is (None: written without a run).
    synced_by_run_id: int | None


def lock_stored_customer(session: Session, wid: str) -> StoredCustomer | None:
    """Lock the stored customer's row until the transaction ends; None if it is not stored."""
    return _lock_customer(session, wid)


def _lock_customer(session: Session, wid: str) -> StoredCustomer | None:
    """Lock the stored customer's row (PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialised us) and
    return its id and snapshot time, None if it is not stored.

    An overwrite that keeps no copy leaves the lock to its upsert (see `_upsert_customer`): one round
    trip less.
    """
    columns = (
        _customers.c.id,
        _customers.c.snapshot_at,
        _customers.c.synced_at,
        _customers.c.synced_by_run_id,
    )
    row = session.execute(select(*columns).where(_customers.c.wid == wid).with_for_update()).one_or_none()
    return (
        None
        if row is None
        else StoredCustomer(int(row.id), row.snapshot_at, row.synced_at, row.synced_by_run_id)
    )


def _keep_previous(
    session: Session,
    wid: str,
    stored: StoredCustomer | None,
    keep: KeepPrevious,
    now: datetime,
) -> None:
    previous_copies.save_copy(
        session,
        run_id=keep.run_id,
        customer_wid=wid,
        customer_pk=stored.id if stored is not None else None,
        keep_until=keep.until,
        now=now,
    )


def _unique_by_wid(documents: Sequence[Document]) -> list[Document]:
    # Once per wid (the last one wins), and in wid order so that two transactions writing the same
    # documents lock them in the same order rather than deadlock.
    return sorted({document.wid: document for document in documents}.values(), key=lambda doc: doc.wid)


def _upsert_customer(
    session: Session, snapshot: CustomerSnapshot, *, run_id: int | None, synced_at: datetime, newer_wins: bool
) -> tuple[int | None, bool]:
    """Write the customer row; return its id (None when the stored snapshot is newer) and whether the row
    is new.

    This is the overwrite's first statement, and it serialises two overwrites of one customer. On
    PostgreSQL, INSERT ... ON CONFLICT DO UPDATE locks the existing row (even when the WHERE guard
    refuses) and a concurrent insert of a new wid waits on the unique index, each until the holder's
    transaction ends; under READ COMMITTED the waiter then checks the guard against the committed row,
    so the older snapshot either finished first or writes nothing. On SQLite, `BEGIN IMMEDIATE`
    (see `Database`) has already serialised the whole transaction.
    """
    row = {name: getattr(snapshot.customer, name) for name in CUSTOMER_FIELDS}
    row |= {"snapshot_at": snapshot.fetched_at, "synced_at": synced_at, "synced_by_run_id": run_id}
    statement = _upsert_statement(
        session,
        _customers,
        columns=list(row),
        key="wid",
        # An older snapshot never overwrites a newer one; an equal one writes the same data again.
        where=lambda excluded: _customers.c.snapshot_at <= excluded["snapshot_at"] if newer_wins else true(),
    )
    # PostgreSQL: a row the statement inserted has no xmax. SQLite serialises writers: nothing races.
    postgres = session.get_bind().dialect.name == "postgresql"
    inserted = literal_column("xmax = 0") if postgres else literal(True)
    written = session.execute(statement.returning(_customers.c.id, inserted), row).one_or_none()
    if written is None:
        return None, False
    return int(written[0]), bool(written[1])


def _replace_documents(
    session: Session,
    table: Table,
    customer_pk: int,
    documents: Sequence[Document],
    fetched_at: datetime,
    synced_at: datetime,
    *,
    newer_wins: bool,
) -> None:
    """Delete the customer's documents of one kind that `documents` lacks, then upsert `documents`."""
    keep = {document.wid for document in documents}
    stored = session.execute(select(table.c.id, table.c.wid).where(table.c.customer_pk == customer_pk))
    stale_ids = [row_id for row_id, wid in stored if wid not in keep]
    for ids in _batched(stale_ids, IDS_PER_DELETE):
        session.execute(delete(table).where(table.c.id.in_(ids)))
    if not documents:
        return

    # The stored snapshot of the document's current owner. Its column is spelled as text because
    # SQLAlchemy does not correlate a subquery with the target table of an INSERT.
    owner_snapshot_at = (
        select(_customers.c.snapshot_at)
        .where(_customers.c.id == literal_column(f"{table.name}.customer_pk"))
        .scalar_subquery()
    )
    _upsert_rows(
        session,
        table,
        [_document_row(document) for document in documents],
        constants={"customer_pk": customer_pk, "synced_at": synced_at},
        key="wid",
        # Take a document over from another customer only if that customer's stored snapshot is not
        # newer: a late, older snapshot of the previous owner must not pull a moved document back.
        # (Exact when the two owners' overwrites follow each other; when they race, the document's
        # row lock orders them and the owner is read as of the statement's start.)
        where=lambda excluded: (
            or_(table.c.customer_pk == excluded["customer_pk"], owner_snapshot_at <= fetched_at)
            if newer_wins
            else true()
        ),
    )


def _document_row(document: Document) -> dict[str, Any]:
    return {name: getattr(document, name) for name in DOCUMENT_FIELDS[type(document)]}


def _upsert_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    constants: Mapping[str, Any],
    key: str,
    where: Callable[[Excluded], ColumnElement[bool]],
) -> None:
    """Upsert many `rows` (same keys), each completed with `constants`, in a few bulk statements.

    PostgreSQL gets one INSERT ... SELECT FROM unnest(<one array per column>) per batch: a parameter
    per column whatever the row count, and about twice as fast as executemany (which psycopg sends as
    a pipeline of one-row statements). SQLite gets executemany, a loop in C inside sqlite3. Multi-row
    VALUES lost to both: compiling thousands of bind parameters costs more than the write itself.
    """
    if not rows:
        return
    names = list(rows[0])
    statement = _upsert_statement(session, table, columns=[*names, *constants], key=key, where=where)
    for batch in _batched(rows, ROWS_PER_UPSERT):
        if session.get_bind().dialect.name == "postgresql":
            arrays = [
                bindparam(None, [row[name] for row in batch], type_=postgresql.ARRAY(table.c[name].type))
                for name in names
            ]
            unnested = func.unnest(*arrays).table_valued(*names).render_derived()
            values = [literal(value, table.c[name].type) for name, value in constants.items()]
            source = select(*unnested.c, *values)
            session.execute(statement.from_select([*names, *constants], source))
        else:
            session.execute(statement, [{**row, **constants} for row in batch])


def _upsert_statement(
    session: Session,
    table: Table,
    *,
    columns: Sequence[str],
    key: str,
    where: Callable[[Excluded], ColumnElement[bool]],
) -> Upsert:
    """INSERT `columns` ... ON CONFLICT (`key`) DO UPDATE the others WHERE `where(excluded)`.

    The same statement on PostgreSQL and SQLite (>= 3.24; >= 3.35 for RETURNING). The UPDATE branch
    applies no column default or `onupdate`, so callers pass every column they mean to set.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    proposed = insert(table)
    excluded = proposed.excluded
    updated = {name: excluded[name] for name in columns if name != key}
    return proposed.on_conflict_do_update(index_elements=[key], set_=updated, where=where(excluded))


def _batched(items: Sequence[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def load_customer(session: Session, wid: str) -> CustomerSnapshot | None:
    """The stored customer with `wid` and its documents (sorted by wid), or None if it is not stored.

    `fetched_at` is the stored snapshot's time.
    """
    stored = session.execute(select(_customers).where(_customers.c.wid == wid)).one_or_none()
    if stored is None:
        return None
    return CustomerSnapshot(
        customer=Customer(**{name: getattr(stored, name) for name in CUSTOMER_FIELDS}),
        invoices=_load_documents(session, _invoices, Invoice, stored.id),
        credit_notes=_load_documents(session, _credit_notes, CreditNote, stored.id),
        payments=_load_documents(session, _payments, Payment, stored.id),
        fetched_at=stored.snapshot_at,
    )


def _load_documents(session: Session, table: Table, record_type: type[D], customer_pk: int) -> list[D]:
    names = DOCUMENT_FIELDS[record_type]
    rows = session.execute(
        select(*(table.c[name] for name in names)).where(table.c.customer_pk == customer_pk)
    )
    # Sorted here rather than in SQL, where text collation differs between backends.
    return sorted((record_type(*row) for row in rows), key=lambda document: document.wid)


def stored_receivables(session: Session, customer_wids: Sequence[str]) -> dict[str, int]:
    """Invoices and credit notes stored per customer (its last sync), for the customers stored."""
    counts: dict[str, int] = {}
    for table in (_invoices, _credit_notes):
        rows = session.execute(
            select(_customers.c.wid, func.count())
            .select_from(table.join(_customers, table.c.customer_pk == _customers.c.id))
            .where(_customers.c.wid.in_(list(customer_wids)))
            .group_by(_customers.c.wid)
        )
        for wid, count in rows:
            counts[wid] = counts.get(wid, 0) + int(count)
    return counts
