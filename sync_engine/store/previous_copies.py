"""The previous copies overwrites keep: each customer as it was just before a run overwrote it.

A copy is taken inside the overwrite's transaction, while it holds the customer's row lock, by INSERT ...
SELECT on the database server (no row travels to Python), so it adds little to an overwrite and commits
or rolls back with it. One copy per run and customer: the first one, the customer as the run found it.
Copies are kept until `keep_until` and dropped by `drop_expired` (a periodic task in every worker).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync_engine.domain import CreditNote, Customer, CustomerSnapshot, Invoice, Payment
from sync_engine.store.models import (
    Base,
    CreditNoteRow,
    CustomerRow,
    InvoiceRow,
    PaymentRow,
    PreviousCopyRow,
    PreviousCreditNoteRow,
    PreviousInvoiceRow,
    PreviousPaymentRow,
)
from sync_engine.store.record_fields import CUSTOMER_FIELDS_BUT_WID, DOCUMENT_FIELDS

__all__ = [
    "KeptCopy",
    "KeptCustomer",
    "drop_expired",
    "kept_customers",
    "kept_until",
    "load_copy",
    "save_copy",
]

_customers = Base.metadata.tables[CustomerRow.__tablename__]
_copies = Base.metadata.tables[PreviousCopyRow.__tablename__]
#: (live table, kept table, record type) per kind of document.
_KINDS: list[tuple[Table, Table, type[Any]]] = [
    (Base.metadata.tables[live.__tablename__], Base.metadata.tables[kept.__tablename__], record)
    for live, kept, record in (
        (InvoiceRow, PreviousInvoiceRow, Invoice),
        (CreditNoteRow, PreviousCreditNoteRow, CreditNote),
        (PaymentRow, PreviousPaymentRow, Payment),
    )
]
#: Copies dropped per transaction (with their documents) by `drop_expired`.
DROP_BATCH = 50


def save_copy(
    session: Session,
    *,
    run_id: int,
    customer_wid: str,
    customer_pk: int | None,
    keep_until: datetime,
    now: datetime,
) -> None:
    """Keep the customer `customer_pk` (None: not stored yet) and its documents as they are now, for `run_id`.

    Call it in the overwrite's transaction, holding the customer's row lock, before anything is written.
    A copy the run already kept of this customer stays as it is (the customer as the run first found it).
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    header = {"run_id": run_id, "customer_wid": customer_wid, "saved_at": now, "keep_until": keep_until}
    if customer_pk is None:
        statement = insert(_copies).values(existed=False, **header)
    else:
        columns = [*CUSTOMER_FIELDS_BUT_WID, "snapshot_at", "synced_by_run_id"]
        constants = [literal(value, _copies.c[name].type) for name, value in header.items()]
        source = select(*constants, literal(True), *(_customers.c[name] for name in columns)).where(
            _customers.c.id == customer_pk
        )
        statement = insert(_copies).from_select([*header, "existed", *columns], source)
    copy_id = session.execute(
        statement.on_conflict_do_nothing(index_elements=["run_id", "customer_wid"]).returning(_copies.c.id)
    ).scalar_one_or_none()
    if copy_id is None or customer_pk is None:
        return
    for live, kept, record in _KINDS:
        names = DOCUMENT_FIELDS[record]
        rows = select(literal(copy_id), *(live.c[name] for name in names)).where(
            live.c.customer_pk == customer_pk
        )
        session.execute(kept.insert().from_select(["copy_id", *names], rows))


@dataclass(frozen=True, slots=True)
class KeptCopy:
    """A previous copy as it can be put back: the snapshot, or None when the customer was not stored."""

    run_id: int
    customer_wid: str
    snapshot: CustomerSnapshot | None
    keep_until: datetime


def load_copy(session: Session, run_id: int, customer_wid: str) -> KeptCopy | None:
    """The copy `run_id` kept of the customer, or None (never kept, or dropped since)."""
    row = session.execute(
        select(_copies).where(_copies.c.run_id == run_id, _copies.c.customer_wid == customer_wid)
    ).one_or_none()
    if row is None:
        return None
    snapshot = None
    if row.existed:
        documents = {
            record: sorted(
                (
                    record(*values)
                    for values in session.execute(
                        select(*(kept.c[name] for name in DOCUMENT_FIELDS[record])).where(
                            kept.c.copy_id == row.id
                        )
                    )
                ),
                key=lambda document: document.wid,
            )
            for _, kept, record in _KINDS
        }
        customer = Customer(
            wid=row.customer_wid, **{name: getattr(row, name) for name in CUSTOMER_FIELDS_BUT_WID}
        )
        snapshot = CustomerSnapshot(
            customer=customer,
            invoices=documents[Invoice],
            credit_notes=documents[CreditNote],
            payments=documents[Payment],
            fetched_at=row.snapshot_at,
        )
    return KeptCopy(run_id, row.customer_wid, snapshot, row.keep_until)


@dataclass(frozen=True, slots=True)
class KeptCustomer:
    """A customer `run_id` kept a copy of, and who holds it in the store now."""

    customer_wid: str
    #: How an operator names it: the Customer_ID, else the reference, else the wid.
    customer_id: str | None
    customer_reference_id: str | None
    name: str | None
    keep_until: datetime
    #: The run whose write the store holds now (None: not stored, or written without a run).
    stored_by_run_id: int | None
    stored: bool

    @property
    def label(self) -> str:
        return self.customer_id or self.customer_reference_id or self.customer_wid


def kept_customers(session: Session, run_id: int) -> list[KeptCustomer]:
    """Every customer of which `run_id` kept a copy, with who holds it in the store now, by wid."""
    rows = session.execute(
        select(
            _copies.c.customer_wid,
            func.coalesce(_customers.c.customer_id, _copies.c.customer_id),
            func.coalesce(_customers.c.customer_reference_id, _copies.c.customer_reference_id),
            func.coalesce(_customers.c.name, _copies.c.name),
            _copies.c.keep_until,
            _customers.c.synced_by_run_id,
            _customers.c.id.is_not(None),
        )
        .select_from(_copies.outerjoin(_customers, _customers.c.wid == _copies.c.customer_wid))
        .where(_copies.c.run_id == run_id)
        .order_by(_copies.c.customer_wid)
    )
    return [KeptCustomer(*row) for row in rows]


def kept_until(session: Session, run_ids: Collection[int]) -> dict[int, datetime]:
    """Per run of `run_ids` that kept copies, until when every one of them is kept (the earliest expiry)."""
    rows = session.execute(
        select(_copies.c.run_id, func.min(_copies.c.keep_until))
        .where(_copies.c.run_id.in_(run_ids))
        .group_by(_copies.c.run_id)
    )
    return {run_id: until for run_id, until in rows}


def drop_expired(session: Session, now: datetime) -> int:
    """Drop up to `DROP_BATCH` copies kept until before `now`, with their documents; how many it dropped.

    Callers repeat it, each time in a new transaction, until it returns less than `DROP_BATCH`: a short
    transaction each, however many copies expired at once.
    """
    ids = list(
        session.scalars(
            select(_copies.c.id).where(_copies.c.keep_until < now).order_by(_copies.c.id).limit(DROP_BATCH)
        )
    )
    if not ids:
        return 0
    # The documents explicitly first, rather than relying on SQLite's per-connection foreign key pragma.
    for _, kept, _record in _KINDS:
        session.execute(delete(kept).where(kept.c.copy_id.in_(ids)))
    session.execute(delete(_copies).where(_copies.c.id.in_(ids)))
    return len(ids)
