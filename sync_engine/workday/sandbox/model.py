"""The sandbox tenant's records, as Workday holds them (not as our client maps them).

Records are immutable: a change to a record is a new record (a new version, see `versions`), which is also
what makes them safe keys for the render caches of `soap_responses` and `rest`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from sync_engine.workday.sandbox.catalog import Company

__all__ = [
    "CustomerView",
    "DocumentLink",
    "Remittance",
    "SandboxCustomer",
    "SandboxDocument",
    "SandboxInvoice",
    "SandboxPayment",
]


@dataclass(frozen=True, slots=True)
class SandboxCustomer:
    wid: str
    customer_id: str
    customer_reference_id: str | None
    name: str
    currency: str
    #: Status descriptor: "Active", "Inactive" or "On Hold".
    status: str
    payment_terms_days: int
    company: Company
    #: The customer that pays this one (its Remit-from_Customer_Reference), e.g. a parent; None = itself.
    payer_wid: str | None = None


@dataclass(frozen=True, slots=True)
class SandboxInvoice:
    """A customer invoice, or an adjustment (credit memo): the REST invoices resource serves both."""

    wid: str
    customer_wid: str
    transaction_type: Literal["Invoice", "Adjustment"]
    invoice_number: str
    invoice_date: date
    due_date: date | None
    #: Including tax; negative for a credit memo.
    total_amount: Decimal
    tax_amount: Decimal
    due_amount: Decimal
    currency: str
    company: Company
    invoice_status: str
    payment_status: str
    #: For an adjustment: the invoice it corrects, if any.
    related_invoice_wid: str | None = None

    @property
    def net_amount(self) -> Decimal:
        return self.total_amount - self.tax_amount


@dataclass(frozen=True, slots=True)
class Remittance:
    """One line of a payment's remittance advice: an invoice it pays, whose bill-to customer, how much."""

    invoice_wid: str
    bill_to_wid: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class SandboxPayment:
    """A customer payment, held by `customer_wid`: its remit-from customer, or (`remit_from` false, a payment
    recorded without one) the customer whose invoices it pays."""

    wid: str
    customer_wid: str
    #: Customer_Payment_for_Invoices_Reference_ID.
    reference_id: str
    payment_number: str | None
    payment_date: date
    amount: Decimal
    currency: str
    company: Company
    payment_type: str
    payment_status: str
    application_status: str
    check_number: str | None = None
    memo: str | None = None
    #: Whether the payment names `customer_wid` as its Remit-from_Customer_Reference.
    remit_from: bool = True
    remittance: tuple[Remittance, ...] = ()

    @property
    def owner_wid(self) -> str | None:
        """Whose payment our client should store (README, Payments): the one bill-to customer of every
        remittance line, else the remit-from customer; None when neither is known."""
        bill_to = {line.bill_to_wid for line in self.remittance}
        if len(bill_to) == 1:
            return bill_to.pop()
        return self.customer_wid if self.remit_from else None


SandboxDocument = SandboxInvoice | SandboxPayment


@dataclass(frozen=True, slots=True)
class DocumentLink:
    """A reference from one document to another: REST `{"id": wid, "descriptor": number}`."""

    wid: str
    descriptor: str


@dataclass(frozen=True, slots=True)
class CustomerView:
    """One customer and its documents as visible at one moment (an As_Of_Entry_DateTime)."""

    customer: SandboxCustomer
    #: Invoices and adjustments, in the tenant's stable order.
    documents: tuple[SandboxInvoice, ...]
    payments: tuple[SandboxPayment, ...]
    #: Adjustment WID → the invoice it corrects.
    related_invoice: Mapping[str, DocumentLink]
    #: Invoice WID → the adjustments that correct it.
    related_adjustments: Mapping[str, tuple[DocumentLink, ...]]
    #: Amount due over the customer's documents that are not canceled.
    total_balance: Decimal
    #: Part of `total_balance` past its due date.
    overdue_balance: Decimal
