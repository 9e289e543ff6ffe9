"""Workday Customer Accounts REST: the invoices resource (pure: no I/O).

`GET /ccx/api/customerAccounts/v1/{tenant}/invoices` serves invoices and adjustments (credit memos) in one
list. Workday's specs disagree on how an amount is written (a plain number in the 2019 swagger, a Currency
object in the current one), so every shape they allow is read: a JSON number, a numeric string,
`{"value": ..., "currency": "USD"}` and `{"value": ..., "currency": {"id": ..., "descriptor": "USD"}}`.
Numbers are read with `parse_float=Decimal` and strings with `Decimal`, so no digit is lost.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sync_engine.domain import CreditNote, Invoice
from sync_engine.errors import WorkdayPermanentError, WorkdayTransientError

__all__ = ["InvoicesPage", "parse_error", "parse_invoices"]


@dataclass(frozen=True, slots=True)
class InvoicesPage:
    #: Invoices and adjustments the query matches, over all pages.
    total: int
    invoices: list[Invoice]
    credit_notes: list[CreditNote]
    #: Document WID → its `billToCustomer` WID (lowercase); None when the document names none.
    bill_to: dict[str, str | None]


#: How much of an unreadable value an error message shows.
SHOWN_VALUE_CHARS = 200
# A decimal number as text: "1200.10", "-0.5", "1E+3"; no thousands separators, no NaN or Infinity.
_NUMERIC = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


class _Shape(Exception):
    """A required field is missing or has the wrong type."""


class _Unreadable(Exception):
    """A field holds a value in a shape we do not know."""

    def __init__(self, name: str, value: Any) -> None:
        super().__init__(name)
        self.name = name
        self.value = value

    def shown(self) -> str:
        text = json.dumps(self.value, default=str, ensure_ascii=False)
        return text if len(text) <= SHOWN_VALUE_CHARS else text[:SHOWN_VALUE_CHARS] + "…"


@dataclass(frozen=True, slots=True)
class _Money:
    value: Decimal
    #: The currency the amount itself names, if it names one.
    currency: str | None


def _field(item: dict[str, Any], *path: str) -> Any:
    value: Any = item
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _text(item: dict[str, Any], *path: str) -> str | None:
    value = _field(item, *path)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Shape(f"{'.'.join(path)} is not a string")
    return value


def _required(item: dict[str, Any], *path: str) -> str:
    value = _text(item, *path)
    if value is None:
        raise _Shape(f"{'.'.join(path)} is missing")
    return value


def _amount(item: dict[str, Any], name: str) -> _Money | None:
    """An amount in any shape Workday's specs give it: a JSON number, a numeric string, `{value, currency}`
    with the currency a code or a reference `{id, descriptor}`."""
    raw = item.get(name)
    if raw is None:
        return None
    if isinstance(raw, dict):
        if "value" not in raw:
            raise _Unreadable(name, raw)
        value = _number(raw["value"])
        if value is None:
            raise _Unreadable(name, raw)
        try:
            currency = _currency_code(raw.get("currency"), name)
        except _Unreadable:
            raise _Unreadable(name, raw) from None
        return _Money(value, currency)
    value = _number(raw)
    if value is None:
        raise _Unreadable(name, raw)
    return _Money(value, None)


def _number(raw: Any) -> Decimal | None:
    """The exact value of a JSON number or a numeric string; None for anything else."""
    # parse_float=Decimal gives Decimal for 1200.10; a whole number such as 1200 arrives as int.
    if isinstance(raw, Decimal) and raw.is_finite():
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Decimal(raw)
    if isinstance(raw, str) and _NUMERIC.fullmatch(raw):
        return Decimal(raw)
    return None


def _currency_code(raw: Any, name: str) -> str | None:
    """A code ("USD") or a currency reference `{"id": ..., "descriptor": "USD"}` → "USD"; None when absent."""
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    if isinstance(raw, dict):
        descriptor, identifier = raw.get("descriptor"), raw.get("id")
        if isinstance(descriptor, str) and descriptor.strip():
            return descriptor.strip()
        # An id alone is only a code if it looks like one (it is usually the currency's WID).
        if isinstance(identifier, str) and _CURRENCY_CODE.fullmatch(identifier):
            return identifier
    raise _Unreadable(name, raw)


def _date(item: dict[str, Any], name: str) -> date | None:
    value = _text(item, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise _Shape(f"{name} {value!r} is not a date") from None


def _currency(item: dict[str, Any], amounts: list[_Money | None]) -> str:
    """The document's currency: its `currency` field, else the currency its amounts carry."""
    document = _currency_code(item.get("currency"), "currency")
    if document is not None:
        return document
    for money in amounts:
        if money is not None and money.currency is not None:
            return money.currency
    raise _Shape("currency is missing (no currency field, and no amount names one)")


@dataclass(frozen=True, slots=True)
class _Amounts:
    total: _Money | None
    net: _Money | None
    tax: _Money | None
    due: _Money | None

    @classmethod
    def of(cls, item: dict[str, Any]) -> _Amounts:
        return cls(*(_amount(item, name) for name in ("totalAmount", "netAmount", "taxAmount", "dueAmount")))

    @property
    def all(self) -> list[_Money | None]:
        return [self.total, self.net, self.tax, self.due]

    def parts(self) -> Decimal | None:
        """netAmount + taxAmount, when either is given."""
        if self.net is None and self.tax is None:
            return None
        return sum((money.value for money in (self.net, self.tax) if money is not None), Decimal(0))

    def invoice_total(self) -> Decimal:
        # totalAmount is Workday's own figure (tax included); net + tax only when it is missing.
        if self.total is not None:
            return self.total.value
        parts = self.parts()
        if parts is None:
            raise _Shape("totalAmount is missing (and no netAmount or taxAmount to add up)")
        return parts

    def adjustment_total(self) -> Decimal:
        # Workday's current spec: "When the reporting transaction is not an instance of a customer invoice,
        # the amount value is zero", so an adjustment may carry totalAmount 0 with its figures elsewhere.
        # Which source wins: a non-zero totalAmount; else netAmount + taxAmount when not zero; else a
        # non-zero dueAmount (for a credit memo not yet applied, the whole of it); else zero.
        if self.total is not None and self.total.value != 0:
            return self.total.value
        parts = self.parts()
        if parts is not None and parts != 0:
            return parts
        if self.due is not None and self.due.value != 0:
            return self.due.value
        if self.total is None and parts is None:
            raise _Shape("totalAmount is missing (and no netAmount or taxAmount to add up)")
        return Decimal(0) if self.total is None else self.total.value


def _value(money: _Money | None) -> Decimal | None:
    return None if money is None else money.value


def _invoice(item: dict[str, Any]) -> Invoice:
    amounts = _Amounts.of(item)
    return Invoice(
        wid=_required(item, "id").lower(),
        invoice_number=_text(item, "invoiceNumber") or _required(item, "descriptor"),
        invoice_date=_date(item, "invoiceDate"),
        due_date=_date(item, "dueDate"),
        total_amount=amounts.invoice_total(),
        tax_amount=_value(amounts.tax),
        due_amount=_value(amounts.due),
        currency=_currency(item, amounts.all),
        invoice_status=_text(item, "invoiceStatus", "descriptor"),
        payment_status=_text(item, "paymentStatus", "descriptor"),
    )


def _credit_note(item: dict[str, Any]) -> CreditNote:
    related = _text(item, "relatedInvoice", "id")
    amounts = _Amounts.of(item)
    return CreditNote(
        wid=_required(item, "id").lower(),
        credit_note_number=_text(item, "invoiceNumber") or _required(item, "descriptor"),
        credit_note_date=_date(item, "invoiceDate"),
        total_amount=amounts.adjustment_total(),
        due_amount=_value(amounts.due),
        currency=_currency(item, amounts.all),
        invoice_status=_text(item, "invoiceStatus", "descriptor"),
        payment_status=_text(item, "paymentStatus", "descriptor"),
        related_invoice_wid=None if related is None else related.lower(),
    )


def parse_invoices(content: bytes) -> InvoicesPage:
    """One page of the invoices resource; `transactionType` "Adjustment" is a credit note."""
    try:
        body = json.loads(content, parse_float=Decimal)
    except ValueError:
        # A cut-off or garbled body: the same request may well succeed again.
        raise WorkdayTransientError("Workday returned an unreadable invoices page (not JSON).") from None
    try:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise _Shape("data is not a list")
        total = body.get("total")
        if isinstance(total, bool) or not isinstance(total, int):
            raise _Shape("total is not a whole number")
        invoices: list[Invoice] = []
        credit_notes: list[CreditNote] = []
        bill_to: dict[str, str | None] = {}
        for item in body["data"]:
            if not isinstance(item, dict):
                raise _Shape("an item is not an object")
            try:
                document: Invoice | CreditNote
                if _text(item, "transactionType") == "Adjustment":
                    document = _credit_note(item)
                    credit_notes.append(document)
                else:
                    document = _invoice(item)
                    invoices.append(document)
                customer = _text(item, "billToCustomer", "id")
                bill_to[document.wid] = customer.lower() if customer else None
            except _Unreadable as unreadable:
                raise WorkdayPermanentError(
                    f"Workday sent {_name(item)} with {unreadable.name} in a shape we do not read: "
                    f"{unreadable.shown()} (we read a number, a numeric string, or an object with a "
                    "value and a currency code or currency reference)."
                ) from None
    except _Shape as problem:
        raise WorkdayPermanentError(f"Workday sent an invoices page we cannot read: {problem}.") from None
    return InvoicesPage(total=total, invoices=invoices, credit_notes=credit_notes, bill_to=bill_to)


def _name(item: dict[str, Any]) -> str:
    """Names the item: "invoice INV-1 (wid)" or "adjustment CM-1 (wid)", as far as it tells."""
    kind = "adjustment" if item.get("transactionType") == "Adjustment" else "invoice"
    number = item.get("invoiceNumber") or item.get("descriptor")
    wid = item.get("id")
    parts = [kind, *(str(part) for part in (number,) if part)]
    return " ".join(parts) + (f" ({wid})" if isinstance(wid, str) else "")


def parse_error(content: bytes) -> str | None:
    """The text of a REST error body, `{"error": "...", "errors": [{"error": "..."}]}`, if it has one."""
    try:
        body = json.loads(content)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    nested = body.get("errors")
    items = nested if isinstance(nested, list) else []
    texts = [body.get("error"), *(item.get("error") for item in items if isinstance(item, dict))]
    words = [text for text in texts if isinstance(text, str) and text]
    return ": ".join(words) or None
