"""The sandbox tenant's records, versioned by entry time, and what a request sees at a moment.

Records are versioned by entry time, as Workday's As_Of_Entry_DateTime implies: a mutation never edits a
record, it closes the visible version (`deleted_at`) and, unless it deletes, enters a new one. A request sees
the versions visible at its moment, so a client that pins As_Of_Entry_DateTime gets consistent pages while
tests change the data underneath (the mutations are `mutations.MutableTenant`'s).

Thread-safe: one lock guards the store; each customer's current view is cached until that customer changes.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Generic, TypeVar

from sync_engine.workday.sandbox.catalog import CURRENCIES, TENANT_TIMEZONE
from sync_engine.workday.sandbox.generate import GeneratedTenant
from sync_engine.workday.sandbox.model import (
    CustomerView,
    DocumentLink,
    SandboxCustomer,
    SandboxDocument,
    SandboxInvoice,
    SandboxPayment,
)

__all__ = ["EPOCH", "Version", "VersionedTenant"]

#: `fetched_at` of the expected snapshots: our client stamps its own time, tests compare everything else.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_Record = TypeVar("_Record", bound=SandboxCustomer | SandboxInvoice | SandboxPayment)


@dataclass(slots=True)
class Version(Generic[_Record]):
    """One version of a record: visible from its entry until its deletion (or a newer version)."""

    record: _Record
    entered_at: datetime
    deleted_at: datetime | None = None

    def visible_at(self, moment: datetime) -> bool:
        return self.entered_at <= moment and (self.deleted_at is None or moment < self.deleted_at)


def visible_version(versions: list[Version[_Record]], moment: datetime) -> _Record | None:
    """The record as visible at `moment`; None when no version was."""
    for version in reversed(versions):
        if version.visible_at(moment):
            return version.record
    return None


class VersionedTenant:
    """The tenant's customers and documents, every version of each, and their views at a moment."""

    def __init__(self, tenant: GeneratedTenant, *, seed: int) -> None:
        self.seed = seed
        #: The customer with `big_customer_documents` invoices.
        self.big_customer_wid = tenant.big_customer_wid
        self._lock = threading.RLock()
        self._customers: dict[str, list[Version[SandboxCustomer]]] = {}
        self._documents: dict[str, list[Version[SandboxDocument]]] = {}
        # Customer WID → WIDs of every document it ever held, in the tenant's stable order (a dict as an
        # ordered set: a document moved away and back keeps its first place).
        self._attached: dict[str, dict[str, None]] = {}
        # Customer WID → latest entry or deletion time of its versions: a cached view is valid from then on.
        self._last_change: dict[str, datetime] = {}
        self._views: dict[str, CustomerView] = {}
        self._by_customer_id: dict[str, str] = {}
        self._by_reference_id: dict[str, str] = {}
        # Latest moment handed out to a request, and latest mutation stamp.
        self._issued = EPOCH
        self._last_stamp = EPOCH
        self._new_wids = random.Random(f"{seed}:added")
        self._invoice_sequence = tenant.last_invoice_sequence
        self._payment_sequence = tenant.last_payment_sequence
        for customer, entered in tenant.customers:
            self._customers[customer.wid] = [Version(customer, entered)]
            self._attached[customer.wid] = {}
            self._last_change[customer.wid] = entered
        for document, entered in tenant.documents:
            self._documents[document.wid] = [Version(document, entered)]
            self._attached[document.customer_wid][document.wid] = None
            self._last_change[document.customer_wid] = max(self._last_change[document.customer_wid], entered)
        self._reindex()

    # --- what requests see ---------------------------------------------------------------------------------

    @property
    def customer_wids(self) -> list[str]:
        """Every customer's WID, in seed order (customers are never deleted)."""
        with self._lock:
            return list(self._customers)

    def moment(self, as_of: datetime | None = None) -> datetime:
        """The moment a request sees: `as_of` when the client pinned one, else now rounded down to the
        millisecond (the precision Workday echoes), but never before the latest mutation. Never ahead of the
        clock, so no mutation is stamped ahead of it either: a client pinning its own "now" sees everything
        entered before."""
        if as_of is not None:
            return as_of
        with self._lock:
            now = datetime.now(UTC)
            moment = max(now - timedelta(microseconds=now.microsecond % 1000), self._last_stamp)
            self._issued = max(self._issued, moment)
            return moment

    def resolve(self, id_type: str, value: str, *, ignore_case: bool = False) -> str | None:
        """The WID of the customer a reference names, by its current identifiers; None if there is none.
        `ignore_case`: Customer_ID and Customer_Reference_ID match whatever their case (Workday's documented
        lookup)."""
        with self._lock:
            if id_type == "WID":
                return value.lower() if value.lower() in self._customers else None
            index = {"Customer_ID": self._by_customer_id, "Customer_Reference_ID": self._by_reference_id}
            if id_type not in index:
                return None
            if not ignore_case:
                return index[id_type].get(value)
            folded = value.casefold()
            return next((wid for key, wid in index[id_type].items() if key.casefold() == folded), None)

    def view(self, customer_wid: str, moment: datetime) -> CustomerView | None:
        """The customer and its documents as visible at `moment`; None if it did not exist then."""
        with self._lock:
            if customer_wid not in self._customers:
                return None
            if self._last_change[customer_wid] > moment:
                return self._build_view(customer_wid, moment)
            view = self._views.get(customer_wid)
            if view is None:
                view = self._build_view(customer_wid, moment)
                assert view is not None  # the customer was entered before its last change
                self._views[customer_wid] = view
            return view

    def _build_view(self, customer_wid: str, moment: datetime) -> CustomerView | None:
        customer = visible_version(self._customers[customer_wid], moment)
        if customer is None:
            return None
        documents: list[SandboxInvoice] = []
        payments: list[SandboxPayment] = []
        for document_wid in self._attached[customer_wid]:
            record = visible_version(self._documents[document_wid], moment)
            if record is None or record.customer_wid != customer_wid:
                continue
            if isinstance(record, SandboxPayment):
                payments.append(record)
            else:
                documents.append(record)
        numbers = {document.wid: document.invoice_number for document in documents}
        related_invoice: dict[str, DocumentLink] = {}
        related_adjustments: dict[str, list[DocumentLink]] = {}
        for document in documents:
            invoice_wid = document.related_invoice_wid
            if invoice_wid is None:
                continue
            number = numbers.get(invoice_wid) or self._number_at(invoice_wid, moment) or invoice_wid
            related_invoice[document.wid] = DocumentLink(invoice_wid, number)
            related_adjustments.setdefault(invoice_wid, []).append(
                DocumentLink(document.wid, document.invoice_number)
            )
        currency = CURRENCIES[customer.currency]
        today = moment.astimezone(TENANT_TIMEZONE).date()
        open_documents = [document for document in documents if document.invoice_status != "Canceled"]
        total = sum((document.due_amount for document in open_documents), Decimal(0))
        past_due = sum(
            (d.due_amount for d in open_documents if d.due_date is not None and d.due_date < today),
            Decimal(0),
        )
        return CustomerView(
            customer=customer,
            documents=tuple(documents),
            payments=tuple(payments),
            related_invoice=related_invoice,
            related_adjustments={wid: tuple(links) for wid, links in related_adjustments.items()},
            total_balance=currency.quantize(total),
            # Credits count against what is past due; never more than the balance, never negative.
            overdue_balance=currency.quantize(max(Decimal(0), min(past_due, total))),
        )

    def _number_at(self, wid: str, moment: datetime) -> str | None:
        """Number of an invoice held by another customer (a credit memo may outlive a move)."""
        record = visible_version(self._documents[wid], moment) if wid in self._documents else None
        return record.invoice_number if isinstance(record, SandboxInvoice) else None

    def _reindex(self) -> None:
        current = [versions[-1].record for versions in self._customers.values()]
        self._by_customer_id = {customer.customer_id: customer.wid for customer in current}
        self._by_reference_id = {
            customer.customer_reference_id: customer.wid
            for customer in current
            if customer.customer_reference_id
        }
