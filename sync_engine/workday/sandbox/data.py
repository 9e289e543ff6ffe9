"""The sandbox tenant's data: versioned records, the mutation API tests use, and what our client should see.

Records are versioned by entry time, as Workday's As_Of_Entry_DateTime implies: a mutation never edits a
record, it closes the visible version (`deleted_at`) and, unless it deletes, enters a new one. A request sees
the versions visible at its moment, so a client that pins As_Of_Entry_DateTime gets consistent pages while
tests change the data underneath. Every mutation is stamped after every moment already handed out.

Thread-safe: one lock guards the store; each customer's current view is cached until that customer changes.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sync_engine.domain import CreditNote, Customer, CustomerSnapshot, Invoice, Payment, RunCounts
from sync_engine.workday.sandbox.catalog import (
    COMPANIES,
    CURRENCIES,
    CUSTOMER_STATUS_IDS,
    INVOICE_STATUS_WIDS,
    PAYMENT_APPLICATION_STATUSES,
    PAYMENT_STATUS_WIDS,
    PAYMENT_STATUSES,
    PAYMENT_TYPES,
    TENANT_TIMEZONE,
)
from sync_engine.workday.sandbox.generate import (
    GeneratedTenant,
    generate_tenant,
    invoice_number,
    payment_number,
    payment_reference_id,
)
from sync_engine.workday.sandbox.model import (
    CustomerView,
    DocumentLink,
    Remittance,
    SandboxCustomer,
    SandboxDocument,
    SandboxInvoice,
    SandboxPayment,
)

__all__ = ["EPOCH", "SandboxData"]

#: `fetched_at` of the expected snapshots: our client stamps its own time, tests compare everything else.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_TICK = timedelta(microseconds=1)
_Record = TypeVar("_Record", bound=SandboxCustomer | SandboxInvoice | SandboxPayment)


@dataclass(slots=True)
class _Version(Generic[_Record]):
    record: _Record
    entered_at: datetime
    deleted_at: datetime | None = None

    def visible_at(self, moment: datetime) -> bool:
        return self.entered_at <= moment and (self.deleted_at is None or moment < self.deleted_at)


def _visible(versions: list[_Version[_Record]], moment: datetime) -> _Record | None:
    for version in reversed(versions):
        if version.visible_at(moment):
            return version.record
    return None


class SandboxData:
    """The tenant's customers and documents. Build one with `SandboxData.generate()`."""

    def __init__(self, tenant: GeneratedTenant, *, seed: int) -> None:
        self.seed = seed
        #: The customer with `big_customer_documents` invoices.
        self.big_customer_wid = tenant.big_customer_wid
        self._lock = threading.RLock()
        self._customers: dict[str, list[_Version[SandboxCustomer]]] = {}
        self._documents: dict[str, list[_Version[SandboxDocument]]] = {}
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
            self._customers[customer.wid] = [_Version(customer, entered)]
            self._attached[customer.wid] = {}
            self._last_change[customer.wid] = entered
        for document, entered in tenant.documents:
            self._documents[document.wid] = [_Version(document, entered)]
            self._attached[document.customer_wid][document.wid] = None
            self._last_change[document.customer_wid] = max(self._last_change[document.customer_wid], entered)
        self._reindex()

    @classmethod
    def generate(
        cls,
        customers: int = 120,
        seed: int = 42,
        *,
        big_customer_documents: int = 1200,
        total_documents: int | None = None,
    ) -> SandboxData:
        """A deterministic data set: the same seed gives the same WIDs, identifiers and counts (dates are
        relative to today). The first customer gets `big_customer_documents` invoices; `total_documents`, when
        given, is about the number of documents of the whole set."""
        tenant = generate_tenant(
            customers,
            seed,
            big_customer_documents=big_customer_documents,
            total_documents=total_documents,
            today=datetime.now(UTC).date(),
        )
        return cls(tenant, seed=seed)

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
        customer = _visible(self._customers[customer_wid], moment)
        if customer is None:
            return None
        documents: list[SandboxInvoice] = []
        payments: list[SandboxPayment] = []
        for document_wid in self._attached[customer_wid]:
            record = _visible(self._documents[document_wid], moment)
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
        record = _visible(self._documents[wid], moment) if wid in self._documents else None
        return record.invoice_number if isinstance(record, SandboxInvoice) else None

    # --- mutations -----------------------------------------------------------------------------------------

    def add_invoice(self, customer_wid: str, **fields: Any) -> str:
        """Enter an invoice for the customer, dated today; `fields` override any `SandboxInvoice` field
        (e.g. `total_amount=Decimal("1200.10")`). Returns its WID."""
        return self._add_receivable(customer_wid, adjustment=False, fields=fields)

    def add_credit_note(self, customer_wid: str, **fields: Any) -> str:
        """Enter a credit memo (adjustment, negative total) for the customer; pass `related_invoice_wid` to
        link it to an invoice. Returns its WID."""
        return self._add_receivable(customer_wid, adjustment=True, fields=fields)

    def add_payment(self, customer_wid: str, **fields: Any) -> str:
        """Enter a payment from the customer, dated today; `fields` override any `SandboxPayment` field."""
        with self._lock:
            customer = self._current_customer(customer_wid)
            currency = CURRENCIES[customer.currency]
            self._payment_sequence += 1
            payment = SandboxPayment(
                wid=self._new_wid(),
                customer_wid=customer_wid,
                reference_id=payment_reference_id(self._payment_sequence),
                payment_number=payment_number(self._payment_sequence),
                payment_date=_today(),
                amount=currency.quantize(Decimal(100)),
                currency=currency.code,
                company=customer.company,
                payment_type="Check",
                payment_status="Complete",
                application_status="Unapplied",
                check_number=str(100_000 + self._payment_sequence),
            )
            self._enter(_changed_document(payment, fields))
            return payment.wid

    def pay_invoices(self, invoice_wids: Sequence[str], *, payer_wid: str | None, **fields: Any) -> str:
        """Enter a payment of the invoices (their amounts due, or totals when nothing is due), one remittance
        line each, remitted by `payer_wid`; None enters it without a remit-from customer (held by the first
        invoice's customer). `fields` override any `SandboxPayment` field. Returns its WID."""
        with self._lock:
            invoices = [self._current_document(wid) for wid in invoice_wids]
            lines = tuple(
                Remittance(invoice.wid, invoice.customer_wid, abs(invoice.due_amount or invoice.total_amount))
                for invoice in invoices
                if isinstance(invoice, SandboxInvoice)
            )
            if not lines or len(lines) != len(invoices):
                raise ValueError("pay_invoices needs one or more invoices")
            holder = payer_wid or lines[0].bill_to_wid
            amount = sum((line.amount for line in lines), Decimal(0))
            return self.add_payment(
                holder,
                **{"amount": amount, "remit_from": payer_wid is not None, "remittance": lines, **fields},
            )

    def set_payer(self, customer_wid: str, payer_wid: str | None) -> None:
        """Make `payer_wid` the customer that pays `customer_wid` (its Remit-from customer), or nobody."""
        with self._lock:
            if payer_wid is not None:
                self._current_customer(payer_wid)
            self.update_customer(customer_wid, payer_wid=payer_wid)

    def shape_payers(self, parents: int) -> list[tuple[str, str, str]]:
        """Make `parents` customers each pay for two others (the knob for parent-paid payments): each
        subsidiary gets the parent as payer; the parent pays one invoice of the first subsidiary, and one
        of each subsidiary in one split payment; one invoice of the second subsidiary is paid without a
        remit-from customer. Returns (parent, subsidiary, subsidiary) WIDs."""
        with self._lock:
            wids = self.customer_wids[1:]  # not the big customer
            if len(wids) < 3 * parents:
                raise ValueError(f"{parents} payer groups need {3 * parents + 1} customers")
            groups = []
            for index in range(parents):
                parent, first, second = wids[3 * index : 3 * index + 3]
                for subsidiary in (first, second):
                    self.set_payer(subsidiary, parent)
                a, b = (self.add_invoice(first) for _ in range(2))
                c, d = (self.add_invoice(second) for _ in range(2))
                self.pay_invoices([a], payer_wid=parent)
                self.pay_invoices([b, c], payer_wid=parent)
                self.pay_invoices([d], payer_wid=None)
                groups.append((parent, first, second))
            return groups

    def update_document(self, wid: str, **fields: Any) -> None:
        """Enter a new version of a document with `fields` changed (e.g. `total_amount`, `invoice_status`)."""
        with self._lock:
            self._enter(_changed_document(self._current_document(wid), fields))

    def delete_document(self, wid: str) -> None:
        """Delete a document: invisible from now on, still visible to moments before."""
        with self._lock:
            versions = self._documents.get(wid)
            if not versions or versions[-1].deleted_at is not None:
                raise KeyError(f"no visible document {wid}")
            stamp = self._stamp()
            versions[-1].deleted_at = stamp
            self._touch(versions[-1].record.customer_wid, stamp)

    def move_document(self, wid: str, new_customer_wid: str) -> None:
        """Move a document to another customer (as a re-billing would)."""
        with self._lock:
            self._current_customer(new_customer_wid)
            self._enter(replace(self._current_document(wid), customer_wid=new_customer_wid))

    def update_customer(self, wid: str, **fields: Any) -> None:
        """Enter a new version of a customer with `fields` changed (e.g. `name`, `customer_reference_id`)."""
        with self._lock:
            current = self._current_customer(wid)
            if "currency" in fields and "company" not in fields:
                fields = {**fields, "company": COMPANIES[fields["currency"]]}
            customer = _changed_customer(current, fields)
            for id_type, value, index in (
                ("Customer_ID", customer.customer_id, self._by_customer_id),
                ("Customer_Reference_ID", customer.customer_reference_id, self._by_reference_id),
            ):
                owner = index.get(value) if value else None
                if owner not in (None, wid):
                    raise ValueError(f"{id_type} {value!r} already belongs to customer {owner}")
            stamp = self._stamp()
            versions = self._customers[wid]
            versions[-1].deleted_at = stamp
            versions.append(_Version(customer, stamp))
            self._reindex()
            self._touch(wid, stamp)

    def _add_receivable(self, customer_wid: str, *, adjustment: bool, fields: Mapping[str, Any]) -> str:
        with self._lock:
            customer = self._current_customer(customer_wid)
            currency = CURRENCIES[customer.currency]
            self._invoice_sequence += 1
            today = _today()
            total = currency.quantize(Decimal(-10 if adjustment else 100))
            invoice = SandboxInvoice(
                wid=self._new_wid(),
                customer_wid=customer_wid,
                transaction_type="Adjustment" if adjustment else "Invoice",
                invoice_number=invoice_number(self._invoice_sequence, adjustment),
                invoice_date=today,
                due_date=today + timedelta(days=customer.payment_terms_days),
                total_amount=total,
                tax_amount=currency.quantize(Decimal(0)),
                due_amount=total,
                currency=currency.code,
                company=customer.company,
                invoice_status="Approved",
                payment_status="Unpaid",
            )
            self._enter(_changed_document(invoice, fields))
            return invoice.wid

    def _enter(self, record: SandboxDocument) -> None:
        stamp = self._stamp()
        versions = self._documents.setdefault(record.wid, [])
        if versions and versions[-1].deleted_at is None:
            versions[-1].deleted_at = stamp
            self._touch(versions[-1].record.customer_wid, stamp)
        versions.append(_Version(record, stamp))
        self._attached[record.customer_wid].setdefault(record.wid, None)
        self._touch(record.customer_wid, stamp)

    def _stamp(self) -> datetime:
        """Entry time of a mutation: after every moment handed out, so pinned pages never change."""
        self._last_stamp = max(datetime.now(UTC), self._issued + _TICK, self._last_stamp)
        return self._last_stamp

    def _touch(self, customer_wid: str, stamp: datetime) -> None:
        self._last_change[customer_wid] = stamp
        self._views.pop(customer_wid, None)

    def _new_wid(self) -> str:
        while True:
            wid = f"{self._new_wids.getrandbits(128):032x}"
            if wid not in self._documents and wid not in self._customers:
                return wid

    def _current_customer(self, wid: str) -> SandboxCustomer:
        if wid not in self._customers:
            raise KeyError(f"no customer {wid}")
        return self._customers[wid][-1].record

    def _current_document(self, wid: str) -> SandboxDocument:
        versions = self._documents.get(wid)
        if not versions or versions[-1].deleted_at is not None:
            raise KeyError(f"no visible document {wid}")
        return versions[-1].record

    def _reindex(self) -> None:
        current = [versions[-1].record for versions in self._customers.values()]
        self._by_customer_id = {customer.customer_id: customer.wid for customer in current}
        self._by_reference_id = {
            customer.customer_reference_id: customer.wid
            for customer in current
            if customer.customer_reference_id
        }

    # --- expectations, in our record types ----------------------------------------------------------------

    @property
    def customers(self) -> list[Customer]:
        """Every customer as our client should return it, in seed order."""
        return [self.customer(wid) for wid in self.customer_wids]

    def customer(self, wid: str) -> Customer:
        """The customer as our client should return it now."""
        return _customer_record(self._current_view(wid))

    def snapshot(self, customer_wid: str) -> CustomerSnapshot:
        """Everything our client should fetch for the customer now (`fetched_at` is the epoch)."""
        view = self._current_view(customer_wid)
        return CustomerSnapshot(
            customer=_customer_record(view),
            invoices=[_invoice_record(d) for d in view.documents if d.transaction_type == "Invoice"],
            credit_notes=[
                _credit_note_record(d) for d in view.documents if d.transaction_type == "Adjustment"
            ],
            payments=[_payment_record(p) for p in self._payments_of(view)],
            fetched_at=EPOCH,
        )

    def _payments_of(self, view: CustomerView) -> list[SandboxPayment]:
        """The customer's payments by our rule (README, Payments): those it remitted and those its payer
        remitted, each only when the customer is the payment's owner."""
        wid, payer = view.customer.wid, view.customer.payer_wid
        remitters = [view] if payer in (None, wid) else [view, self._current_view(payer)]
        return [p for v in remitters for p in v.payments if p.remit_from and p.owner_wid == wid]

    def counts(self, customer_wid: str) -> tuple[int, int, int]:
        """(invoices, payments, credit notes) of the customer now."""
        view = self._current_view(customer_wid)
        adjustments = sum(document.transaction_type == "Adjustment" for document in view.documents)
        return len(view.documents) - adjustments, len(self._payments_of(view)), adjustments

    def run_counts(self, wids: Sequence[str]) -> RunCounts:
        """The counts a run that syncs these customers now must end with."""
        per_customer = [self.counts(wid) for wid in wids]
        return RunCounts(
            customers=len(per_customer),
            invoices=sum(invoices for invoices, _, _ in per_customer),
            payments=sum(payments for _, payments, _ in per_customer),
            credit_notes=sum(credit_notes for _, _, credit_notes in per_customer),
        )

    def find_by_reference(self, value: str, id_type: str) -> Customer | None:
        """The customer a reference names, as Get_Customers resolves it; None if unknown (or unknown type)."""
        wid = self.resolve(id_type, value)
        return None if wid is None else self.customer(wid)

    def _current_view(self, wid: str) -> CustomerView:
        with self._lock:  # every mutation so far, to the microsecond (not a moment handed to a request)
            now = max(datetime.now(UTC), self._last_stamp)
        view = self.view(wid, now)
        if view is None:
            raise KeyError(f"no customer {wid}")
        return view


def _today() -> date:
    return datetime.now(TENANT_TIMEZONE).date()


def _changed_customer(customer: SandboxCustomer, fields: Mapping[str, Any]) -> SandboxCustomer:
    """`customer` with `fields` replaced; rejects unknown fields and values."""
    if "wid" in fields:
        raise ValueError("a customer's wid cannot change")
    changed = replace(customer, **fields)
    _check(changed.currency, CURRENCIES, "currency")
    _check(changed.status, CUSTOMER_STATUS_IDS, "customer status")
    return changed


def _changed_document(document: SandboxDocument, fields: Mapping[str, Any]) -> SandboxDocument:
    """`document` with `fields` replaced and amounts in the currency's exponent; rejects unknown fields and
    values."""
    if fields.keys() & {"wid", "customer_wid"}:
        raise ValueError("wid and customer_wid cannot change (move_document moves a document)")
    changed = replace(document, **fields)
    _check(changed.currency, CURRENCIES, "currency")
    currency = CURRENCIES[changed.currency]
    if isinstance(changed, SandboxPayment):
        _check(changed.payment_type, PAYMENT_TYPES, "payment type")
        _check(changed.payment_status, PAYMENT_STATUSES, "payment status")
        _check(changed.application_status, PAYMENT_APPLICATION_STATUSES, "payment application status")
        return replace(changed, amount=currency.quantize(Decimal(changed.amount)))
    _check(changed.transaction_type, ("Invoice", "Adjustment"), "transaction type")
    _check(changed.invoice_status, INVOICE_STATUS_WIDS, "invoice status")
    _check(changed.payment_status, PAYMENT_STATUS_WIDS, "payment status")
    return replace(
        changed,
        total_amount=currency.quantize(Decimal(changed.total_amount)),
        tax_amount=currency.quantize(Decimal(changed.tax_amount)),
        due_amount=currency.quantize(Decimal(changed.due_amount)),
    )


def _check(value: str, allowed: Mapping[str, object] | tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; one of {', '.join(allowed)}")


def _customer_record(view: CustomerView) -> Customer:
    customer = view.customer
    return Customer(
        wid=customer.wid,
        customer_id=customer.customer_id,
        customer_reference_id=customer.customer_reference_id,
        name=customer.name,
        currency=customer.currency,
        status=customer.status,
        total_balance=view.total_balance,
        payer_wid=customer.payer_wid,
    )


def _invoice_record(document: SandboxInvoice) -> Invoice:
    return Invoice(
        wid=document.wid,
        invoice_number=document.invoice_number,
        invoice_date=document.invoice_date,
        due_date=document.due_date,
        total_amount=document.total_amount,
        tax_amount=document.tax_amount,
        due_amount=document.due_amount,
        currency=document.currency,
        invoice_status=document.invoice_status,
        payment_status=document.payment_status,
    )


def _credit_note_record(document: SandboxInvoice) -> CreditNote:
    return CreditNote(
        wid=document.wid,
        credit_note_number=document.invoice_number,
        credit_note_date=document.invoice_date,
        total_amount=document.total_amount,
        due_amount=document.due_amount,
        currency=document.currency,
        invoice_status=document.invoice_status,
        payment_status=document.payment_status,
        related_invoice_wid=document.related_invoice_wid,
    )


def _payment_record(payment: SandboxPayment) -> Payment:
    return Payment(
        wid=payment.wid,
        payment_reference_id=payment.reference_id,
        payment_number=payment.payment_number,
        payment_date=payment.payment_date,
        amount=payment.amount,
        currency=payment.currency,
        payment_status=payment.payment_status,
        check_number=payment.check_number,
        memo=payment.memo,
    )
