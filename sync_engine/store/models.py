"""ORM tables of the store. Money is exact on every backend (see `Money`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

__all__ = [
    "Base",
    "BatchRunRow",
    "CreditNoteRow",
    "CustomerRow",
    "InvoiceRow",
    "Money",
    "PaymentRow",
    "RunAnnouncementRow",
    "RunAnnouncementStepRow",
    "RunItemRow",
    "WorkdayConnectionRow",
]


class Money(TypeDecorator[Decimal]):
    """An exact decimal: unconstrained NUMERIC on PostgreSQL (keeps Workday's scale, rounds nothing),
    text on SQLite (whose NUMERIC is a float)."""

    impl = Numeric()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value) if dialect.name == "sqlite" else value


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp, also on SQLite (which stores naive text).

    Values are converted to UTC before binding: SQLite drops the offset, and its text timestamps must share
    one zone to compare in SQL (the snapshot guard does). A naive value is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # Naive stays UTC rather than PostgreSQL reading it in the session's time zone.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        # PostgreSQL answers in the session's time zone; callers get UTC whatever the server's setting.
        return value.astimezone(UTC)


#: Deterministic constraint names, so later migrations can name what they alter (SQLite batch mode needs it).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wid: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
    customer_reference_id: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str | None] = mapped_column(String(64))
    total_balance: Mapped[Decimal | None] = mapped_column(Money)
    #: WID of the customer that pays this one (Workday's Remit-from_Customer_Reference), if another does.
    payer_wid: Mapped[str | None] = mapped_column(String(32))
    #: When the Workday fetch that wrote this row began; an older snapshot never overwrites a newer one.
    snapshot_at: Mapped[datetime] = mapped_column(UtcDateTime)
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The batch run whose snapshot is stored.
    synced_by_run_id: Mapped[int | None] = mapped_column(Integer)


class _Document:
    """Columns every document shares: Workday id and the owning customer."""

    #: BIGINT on PostgreSQL: every upsert draws a sequence value even when it updates, so a resync of
    #: 10,000 documents spends 10,000 ids. SQLite needs INTEGER to alias its rowid.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    wid: Mapped[str] = mapped_column(String(32), unique=True)
    customer_pk: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime)


class InvoiceRow(_Document, Base):
    __tablename__ = "invoices"

    invoice_number: Mapped[str] = mapped_column(String(255), index=True)
    invoice_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    total_amount: Mapped[Decimal] = mapped_column(Money)
    tax_amount: Mapped[Decimal | None] = mapped_column(Money)
    due_amount: Mapped[Decimal | None] = mapped_column(Money)
    invoice_status: Mapped[str | None] = mapped_column(String(64))
    payment_status: Mapped[str | None] = mapped_column(String(64))


class CreditNoteRow(_Document, Base):
    __tablename__ = "credit_notes"

    credit_note_number: Mapped[str] = mapped_column(String(255), index=True)
    credit_note_date: Mapped[date | None] = mapped_column(Date)
    total_amount: Mapped[Decimal] = mapped_column(Money)
    due_amount: Mapped[Decimal | None] = mapped_column(Money)
    invoice_status: Mapped[str | None] = mapped_column(String(64))
    payment_status: Mapped[str | None] = mapped_column(String(64))
    related_invoice_wid: Mapped[str | None] = mapped_column(String(32))


class PaymentRow(_Document, Base):
    __tablename__ = "payments"

    payment_reference_id: Mapped[str | None] = mapped_column(String(255), index=True)
    payment_number: Mapped[str | None] = mapped_column(String(255))
    payment_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    payment_status: Mapped[str | None] = mapped_column(String(64))
    check_number: Mapped[str | None] = mapped_column(String(255))
    memo: Mapped[str | None] = mapped_column(Text)


class BatchRunRow(Base):
    """One admin request: the identifiers it names, who asked, and where its status is reported."""

    __tablename__ = "batch_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: draft (awaiting confirmation), cancelled, received, in_progress, completed, error
    status: Mapped[str] = mapped_column(String(16), index=True)
    identifier_type: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Last time a worker changed this run; a run left unfinished and untouched is resumed.
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Attempts at resolving the identifiers, however they came (retries, redeliveries, restarts): capped,
    #: so a run whose start kills its worker every time ends instead of looping.
    start_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_message_ts: Mapped[str | None] = mapped_column(String(32))
    #: Digest of a front end's request (its key, requester and identifiers): a request repeated, e.g. a
    #: replayed form submission, finds the run it stored instead of storing another.
    request_digest: Mapped[str | None] = mapped_column(String(64), unique=True)


class RunItemRow(Base):
    """One identifier of a run: how it resolved and what syncing that customer produced."""

    __tablename__ = "run_items"
    __table_args__ = (
        UniqueConstraint("run_id", "position"),
        Index("ix_run_items_run_status", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("batch_runs.id", ondelete="CASCADE"))
    #: Order in which the admin pasted it (0-based); the records file keeps this order.
    position: Mapped[int] = mapped_column(Integer)
    identifier: Mapped[str] = mapped_column(String(255))
    customer_wid: Mapped[str | None] = mapped_column(String(32))
    #: The customer as Workday resolved it (a `Customer` record as JSON), kept until its sync commits.
    resolved_customer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: pending (to resolve or to sync), unresolved, synced, failed
    status: Mapped[str] = mapped_column(String(16))
    invoices: Mapped[int] = mapped_column(Integer, default=0)
    payments: Mapped[int] = mapped_column(Integer, default=0)
    credit_notes: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: A worker holds the item until this time and renews it while alive; expired = free to take.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: When a job for this item was last sent to the broker (to tell a lost message from a queued one).
    enqueued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RunAnnouncementRow(Base):
    """What a front end's announcement of a run (the Slack status message) has shown; never secrets."""

    __tablename__ = "run_announcements"

    run_id: Mapped[int] = mapped_column(ForeignKey("batch_runs.id", ondelete="CASCADE"), primary_key=True)
    link: Mapped[str | None] = mapped_column(Text)
    records_link: Mapped[str | None] = mapped_column(Text)
    #: Digest of the final state shown; runs that ended without it are still owed their final state.
    final_digest: Mapped[str | None] = mapped_column(String(64))
    final_shown_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RunAnnouncementStepRow(Base):
    """A once-only step of a run's announcement: whoever inserts or takes over the row does the step."""

    __tablename__ = "run_announcement_steps"

    run_id: Mapped[int] = mapped_column(ForeignKey("batch_runs.id", ondelete="CASCADE"), primary_key=True)
    #: The front end's name for the step (e.g. the records file).
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WorkdayConnectionRow(Base):
    """When each Workday tenant's connection was last verified, for every process and across restarts."""

    __tablename__ = "workday_connections"

    tenant: Mapped[str] = mapped_column(String(255), primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(UtcDateTime)
