"""Typed records that cross module boundaries: what Workday gave us, per customer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "CreditNote",
    "Customer",
    "CustomerSnapshot",
    "IdentifierType",
    "Invoice",
    "Payment",
    "Resolution",
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
