"""The domain types that cross module boundaries: customers and their documents, runs and their items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "FINAL_STATUSES",
    "AnnouncementStep",
    "ApprovalDecision",
    "BatchRun",
    "CreditNote",
    "Customer",
    "CustomerSnapshot",
    "IdentifierType",
    "Invoice",
    "ItemStatus",
    "Payment",
    "Resolution",
    "RunAnnouncement",
    "RunApproval",
    "RunCounts",
    "RunKind",
    "RunStatus",
]


class IdentifierType(StrEnum):
    """How the admin named the customers of one batch."""

    #: Workday's own id of the customer (WID, 32 lowercase hex characters).
    SOURCE_ID = "source_id"
    #: The customer number; sent as the configured reference id type (Customer_ID by default).
    REFERENCE = "reference"


@dataclass(frozen=True, slots=True)
class Customer:
    wid: str
    customer_id: str | None
    customer_reference_id: str | None
    name: str
    currency: str | None
    status: str | None
    total_balance: Decimal | None
    #: WID of the customer that pays this one (Workday's Remit-from_Customer_Reference), if another does.
    payer_wid: str | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    wid: str
    invoice_number: str
    invoice_date: date | None
    due_date: date | None
    total_amount: Decimal
    tax_amount: Decimal | None
    due_amount: Decimal | None
    currency: str
    invoice_status: str | None
    payment_status: str | None


@dataclass(frozen=True, slots=True)
class CreditNote:
    """A Workday customer invoice adjustment (credit memo); `total_amount` keeps Workday's sign."""

    wid: str
    credit_note_number: str
    credit_note_date: date | None
    total_amount: Decimal
    due_amount: Decimal | None
    currency: str
    invoice_status: str | None
    payment_status: str | None
    related_invoice_wid: str | None


@dataclass(frozen=True, slots=True)
class Payment:
    wid: str
    payment_reference_id: str | None
    payment_number: str | None
    payment_date: date | None
    amount: Decimal
    currency: str
    payment_status: str | None
    check_number: str | None = None
    memo: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerSnapshot:
    """Everything Workday holds for one customer, fetched before anything is written.

    `fetched_at` is when the fetch began (UTC): of two snapshots of one customer, the later one wins.
    """

    customer: Customer
    invoices: list[Invoice]
    credit_notes: list[CreditNote]
    payments: list[Payment]
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class Resolution:
    """Outcome of resolving a batch of identifiers: found customers by identifier, and the rest."""

    found: dict[str, Customer] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)


class RunKind(StrEnum):
    """What a run does to the customers it names; every kind shares the run's states, items and history.

    A preview fetches and stages without writing; an apply writes a preview's staged snapshots; a
    restore puts back the previous copies another run kept (`source_run_id` names that run).
    """

    SYNC = "sync"
    PREVIEW = "preview"
    APPLY = "apply"
    RESTORE = "restore"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class RunStatus(StrEnum):
    """Life of a batch run: draft → received → in_progress → completed | error (or draft → cancelled);
    an admin's stop ends a received or in-progress run as stopped (`sync_engine.stopping`).

    A run above RESYNC_APPROVAL_ABOVE goes draft → pending_approval → received (approved) | rejected |
    expired (`sync_engine.approval`).
    """

    DRAFT = "draft"
    CANCELLED = "cancelled"
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ERROR = "error"
    PENDING_APPROVAL = "pending_approval"
    REJECTED = "rejected"
    EXPIRED = "expired"
    STOPPED = "stopped"

    @property
    def label(self) -> str:
        """How an admin reads the status: "In progress", "Completed"."""
        if self is RunStatus.PENDING_APPROVAL:
            return "Awaiting approval"
        return self.value.replace("_", " ").capitalize()


#: Statuses a run never leaves.
FINAL_STATUSES = frozenset(
    {
        RunStatus.CANCELLED,
        RunStatus.COMPLETED,
        RunStatus.ERROR,
        RunStatus.REJECTED,
        RunStatus.EXPIRED,
        RunStatus.STOPPED,
    }
)


class ItemStatus(StrEnum):
    """One identifier of a run: pending until it resolves and syncs, or is found wanting."""

    PENDING = "pending"
    UNRESOLVED = "unresolved"
    SYNCED = "synced"
    FAILED = "failed"
    #: Not started when an admin stopped its run: left as the store held it.
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What a run has synced so far: customers committed and their documents."""

    customers: int = 0
    invoices: int = 0
    payments: int = 0
    credit_notes: int = 0


@dataclass(frozen=True, slots=True)
class AnnouncementStep:
    """A once-only step of a run's announcement (e.g. posting it), claimed by one owner at a time."""

    #: 1 for the first claim; each takeover of a claim left undone (its owner died) adds one.
    attempt: int
    #: Who claimed it last (an opaque token of the front end's).
    owner: str
    claimed_at: datetime
    #: When its owner finished it; a step done is never done again.
    done_at: datetime | None

    @property
    def done(self) -> bool:
        return self.done_at is not None


@dataclass(frozen=True, slots=True)
class RunAnnouncement:
    """What a front end's announcement of a run (the Slack status message) has done so far; never secrets."""

    #: Where admins open the announcement (a Slack permalink).
    link: str | None = None
    #: Where admins open the run's records file.
    records_link: str | None = None
    #: Where admins open the run's per-customer results file (CSV).
    results_link: str | None = None
    #: Digest of the final state the announcement shows, once it shows it and everything it owes.
    final_digest: str | None = None
    final_shown_at: datetime | None = None
    #: Once-only steps by the front end's name for them.
    steps: dict[str, AnnouncementStep] = field(default_factory=dict)


class ApprovalDecision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class RunApproval:
    """A run that needed a second admin's approval (more customers than RESYNC_APPROVAL_ABOVE)."""

    #: The setting when the run was held: it names more customers than this.
    above: int
    held_at: datetime
    #: Past this, approving is refused and the run ends Expired.
    expires_at: datetime
    decision: ApprovalDecision | None = None
    #: Who approved or rejected it (None while it waits, and when it expired).
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BatchRun:
    """A batch run as the front ends show it."""

    id: int
    status: RunStatus
    identifier_type: IdentifierType
    identifiers: list[str]
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: RunCounts
    #: Customers that resolved on Workday (the denominator of progress).
    resolved: int
    unresolved: list[str]
    failed: list[str]
    error: str | None
    slack_channel: str | None
    slack_message_ts: str | None
    announcement: RunAnnouncement = field(default_factory=RunAnnouncement)
    kind: RunKind = RunKind.SYNC
    #: The run this one works from: the run a restore puts back, the preview an apply writes, the run
    #: whose failed and unresolved customers a sync re-runs.
    source_run_id: int | None = None
    #: Until when the customers' previous copies this run kept are kept (the earliest); None if none.
    previous_kept_until: datetime | None = None
    #: Set when the run needed a second admin's approval.
    approval: RunApproval | None = None
    #: Identifiers left unsynced because an admin stopped the run before their turn.
    skipped: list[str] = field(default_factory=list)
    #: Who stopped the run and when (None unless it was stopped).
    stopped_by: str | None = None
    stopped_at: datetime | None = None
    #: Why it was asked for (free text or a ticket), verbatim; None if not given.
    reason: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def rerun_of(self) -> int | None:
        """The run whose failed and unresolved customers this sync re-runs, if it is a re-run."""
        return self.source_run_id if self.kind is RunKind.SYNC else None

    @property
    def rerun_identifiers(self) -> list[str]:
        """What a re-run of this run takes: a finished sync's failed and unresolved identifiers, in the
        order they were given (each once: the list was cleaned of duplicates when stored); else none."""
        if not self.is_final or self.kind is not RunKind.SYNC:
            return []
        wanted = {*self.failed, *self.unresolved}
        return [identifier for identifier in self.identifiers if identifier in wanted]

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
