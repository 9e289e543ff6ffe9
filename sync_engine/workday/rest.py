"""Workday Customer Accounts REST: the invoices resource (pure: no I/O).

`GET /ccx/api/customerAccounts/v1/{tenant}/invoices` serves invoices and adjustments (credit memos) in one
list; amounts are JSON numbers written exactly, read with `parse_float=Decimal` so no digit is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sync_engine.errors import WorkdayPermanentError, WorkdayTransientError
from sync_engine.records import CreditNote, Invoice

__all__ = ["InvoicesPage", "parse_error", "parse_invoices"]


@dataclass(frozen=True, slots=True)
class InvoicesPage:
    #: Invoices and adjustments the query matches, over all pages.
    total: int
    invoices: list[Invoice]
    credit_notes: list[CreditNote]


class _Shape(Exception):
    """A required field is missing or has the wrong type."""


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


def _amount(item: dict[str, Any], name: str) -> Decimal | None:
    value = _field(item, name, "value")
    if value is None:
        return None
    # parse_float=Decimal gives Decimal for "1200.10"; a whole number such as 1200 arrives as int.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise _Shape(f"{name}.value is not a number")
    return Decimal(value)


def _required_amount(item: dict[str, Any], name: str) -> Decimal:
    value = _amount(item, name)
    if value is None:
        raise _Shape(f"{name} is missing")
    return value


def _date(item: dict[str, Any], name: str) -> date | None:
    value = _text(item, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise _Shape(f"{name} {value!r} is not a date") from None


def _currency(item: dict[str, Any]) -> str:
    currency = _text(item, "currency", "descriptor") or _text(item, "totalAmount", "currency")
    if currency is None:
        raise _Shape("currency is missing")
    return currency


def _invoice(item: dict[str, Any]) -> Invoice:
    return Invoice(
        wid=_required(item, "id").lower(),
        invoice_number=_text(item, "invoiceNumber") or _required(item, "descriptor"),
        invoice_date=_date(item, "invoiceDate"),
        due_date=_date(item, "dueDate"),
        total_amount=_required_amount(item, "totalAmount"),
        tax_amount=_amount(item, "taxAmount"),
        due_amount=_amount(item, "dueAmount"),
        currency=_currency(item),
        invoice_status=_text(item, "invoiceStatus", "descriptor"),
        payment_status=_text(item, "paymentStatus", "descriptor"),
    )


def _credit_note(item: dict[str, Any]) -> CreditNote:
    related = _text(item, "relatedInvoice", "id")
    return CreditNote(
        wid=_required(item, "id").lower(),
        credit_note_number=_text(item, "invoiceNumber") or _required(item, "descriptor"),
        credit_note_date=_date(item, "invoiceDate"),
        total_amount=_required_amount(item, "totalAmount"),
        due_amount=_amount(item, "dueAmount"),
        currency=_currency(item),
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
        for item in body["data"]:
            if not isinstance(item, dict):
                raise _Shape("an item is not an object")
            if _text(item, "transactionType") == "Adjustment":
                credit_notes.append(_credit_note(item))
            else:
                invoices.append(_invoice(item))
    except _Shape as problem:
        raise WorkdayPermanentError(f"Workday sent an invoices page we cannot read: {problem}.") from None
    return InvoicesPage(total=total, invoices=invoices, credit_notes=credit_notes)


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
