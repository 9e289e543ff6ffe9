"""The mutation API tests use on the sandbox tenant: enter, change, move and delete records.

Every mutation is stamped after every moment already handed out, so a request that pinned its moment keeps
seeing the same pages; a change is checked against the catalog before it is entered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

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
from sync_engine.workday.sandbox.generate import invoice_number, payment_number, payment_reference_id
from sync_engine.workday.sandbox.model import (
    Remittance,
    SandboxCustomer,
    SandboxDocument,
    SandboxInvoice,
    SandboxPayment,
)
from sync_engine.workday.sandbox.versions import Version, VersionedTenant

__all__ = ["MutableTenant"]

_TICK = timedelta(microseconds=1)


class MutableTenant(VersionedTenant):
    """The versioned tenant, with the mutations tests make to it while clients read."""

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
            versions.append(Version(customer, stamp))
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
        versions.append(Version(record, stamp))
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
