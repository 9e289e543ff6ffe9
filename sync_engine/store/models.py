"""ORM tables of the store. Money is exact on every backend (see `Money`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false

from sync_engine.store.column_types import Money, UtcDateTime

__all__ = [
    "Base",
    "BatchRunRow",
    "CreditNoteRow",
    "CustomerRow",
    "InvoiceRow",
    "Money",
    "PaymentRow",
    "PreviewDecisionRow",
    "PreviousCopyRow",
    "PreviousCreditNoteRow",
    "PreviousInvoiceRow",
    "PreviousPaymentRow",
    "RunAnnouncementRow",
    "RunAnnouncementStepRow",
    "RunApprovalRow",
    "RunItemRow",
    "StagedSnapshotRow",
    "WorkdayConnectionRow",
]


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


class _InvoiceFields:
    """An invoice's own columns: the stored one's and the kept copy's."""

    invoice_number: Mapped[str] = mapped_column(String(255))
    invoice_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    total_amount: Mapped[Decimal] = mapped_column(Money)
    tax_amount: Mapped[Decimal | None] = mapped_column(Money)
    due_amount: Mapped[Decimal | None] = mapped_column(Money)
    invoice_status: Mapped[str | None] = mapped_column(String(64))
    payment_status: Mapped[str | None] = mapped_column(String(64))


class _CreditNoteFields:
    credit_note_number: Mapped[str] = mapped_column(String(255))
    credit_note_date: Mapped[date | None] = mapped_column(Date)
    total_amount: Mapped[Decimal] = mapped_column(Money)
    due_amount: Mapped[Decimal | None] = mapped_column(Money)
    invoice_status: Mapped[str | None] = mapped_column(String(64))
    payment_status: Mapped[str | None] = mapped_column(String(64))
    related_invoice_wid: Mapped[str | None] = mapped_column(String(32))


class _PaymentFields:
    payment_reference_id: Mapped[str | None] = mapped_column(String(255))
    payment_number: Mapped[str | None] = mapped_column(String(255))
    payment_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    payment_status: Mapped[str | None] = mapped_column(String(64))
    check_number: Mapped[str | None] = mapped_column(String(255))
    memo: Mapped[str | None] = mapped_column(Text)


# The stored documents are looked up by number; their kept copies only by the copy they belong to.
class InvoiceRow(_Document, _InvoiceFields, Base):
    __tablename__ = "invoices"
    __table_args__ = (Index("ix_invoices_invoice_number", "invoice_number"),)


class CreditNoteRow(_Document, _CreditNoteFields, Base):
    __tablename__ = "credit_notes"
    __table_args__ = (Index("ix_credit_notes_credit_note_number", "credit_note_number"),)


class PaymentRow(_Document, _PaymentFields, Base):
    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_payment_reference_id", "payment_reference_id"),)


class BatchRunRow(Base):
    """One admin request: the identifiers it names, who asked, and where its status is reported."""

    __tablename__ = "batch_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: draft (awaiting confirmation), cancelled, received, in_progress, completed, error, stopped;
    #: pending_approval, rejected, expired (a run that needed a second admin's approval)
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
    #: sync, preview, apply or restore (`RunKind`).
    kind: Mapped[str] = mapped_column(String(16), default="sync", server_default="sync")
    #: The run this one works from: the run a restore puts back, the preview an apply writes.
    source_run_id: Mapped[int | None] = mapped_column(Integer)
    #: A restore that also puts back customers a later run has overwritten since.
    force: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Who stopped the run before it finished (an admin's Stop), and when.
    stopped_by: Mapped[str | None] = mapped_column(String(255))
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Why it was asked for (free text or a ticket, as the requester wrote it, trimmed); None if not given.
    reason: Mapped[str | None] = mapped_column(Text)


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
    #: The customer's name as the run resolved it, then as it wrote it (the per-customer results).
    customer_name: Mapped[str | None] = mapped_column(Text)
    #: The customer as Workday resolved it (a `Customer` record as JSON), kept until its sync commits.
    resolved_customer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: pending (to resolve or to sync), unresolved, synced, failed, skipped (its run was stopped)
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
    results_link: Mapped[str | None] = mapped_column(Text)
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


class PreviousCopyRow(Base):
    """A customer as it was just before a run overwrote it (its documents in the `previous_*` tables),
    kept until `keep_until` so that the run can be undone (`workday-resync restore`)."""

    __tablename__ = "previous_copies"
    __table_args__ = (UniqueConstraint("run_id", "customer_wid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("batch_runs.id", ondelete="CASCADE"))
    customer_wid: Mapped[str] = mapped_column(String(32))
    #: False: the run imported the customer for the first time; putting the copy back removes it.
    existed: Mapped[bool] = mapped_column(Boolean)
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime)
    keep_until: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # The customer row as it was (None when it did not exist).
    customer_id: Mapped[str | None] = mapped_column(String(255))
    customer_reference_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str | None] = mapped_column(String(64))
    total_balance: Mapped[Decimal | None] = mapped_column(Money)
    payer_wid: Mapped[str | None] = mapped_column(String(32))
    snapshot_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    synced_by_run_id: Mapped[int | None] = mapped_column(Integer)


class _PreviousDocument:
    """Columns every kept document shares: the copy it belongs to, its Workday id and currency."""

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("previous_copies.id", ondelete="CASCADE"), index=True)
    wid: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))


class PreviousInvoiceRow(_PreviousDocument, _InvoiceFields, Base):
    __tablename__ = "previous_invoices"


class PreviousCreditNoteRow(_PreviousDocument, _CreditNoteFields, Base):
    __tablename__ = "previous_credit_notes"


class PreviousPaymentRow(_PreviousDocument, _PaymentFields, Base):
    __tablename__ = "previous_payments"


class StagedSnapshotRow(Base):
    """A customer as a preview run fetched it, staged (not written) until applied or `expires_at`, with
    its difference from the store then and the stored state it was measured against."""

    __tablename__ = "staged_snapshots"
    __table_args__ = (UniqueConstraint("run_id", "customer_wid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("batch_runs.id", ondelete="CASCADE"))
    customer_wid: Mapped[str] = mapped_column(String(32))
    staged_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    #: The `CustomerSnapshot` as JSON (`sync_engine.snapshot_codec`).
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Its difference from the store (`sync_engine.preview_diff.CustomerDiff` as JSON).
    diff: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: When the stored customer the diff was measured against was written (None: not stored).
    base_synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PreviewDecisionRow(Base):
    """What was decided about a preview: applied (as `apply_run_id`) or discarded; one per preview."""

    __tablename__ = "preview_decisions"

    preview_run_id: Mapped[int] = mapped_column(
        ForeignKey("batch_runs.id", ondelete="CASCADE"), primary_key=True
    )
    #: apply or discard
    action: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str] = mapped_column(String(255))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    apply_run_id: Mapped[int | None] = mapped_column(Integer)


class WorkdayConnectionRow(Base):
    """When each Workday tenant's connection was last verified, for every process and across restarts."""

    __tablename__ = "workday_connections"

    tenant: Mapped[str] = mapped_column(String(255), primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RunApprovalRow(Base):
    """A run held for a second admin's approval (more customers than RESYNC_APPROVAL_ABOVE), and who
    decided; the run's own status says where it stands."""

    __tablename__ = "run_approvals"

    run_id: Mapped[int] = mapped_column(ForeignKey("batch_runs.id", ondelete="CASCADE"), primary_key=True)
    #: The setting when the run was held.
    above: Mapped[int] = mapped_column(Integer)
    held_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    #: approved, rejected or expired; None while it waits.
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
