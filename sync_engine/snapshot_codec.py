"""A `CustomerSnapshot` to JSON and back, exactly (amounts as decimal text, dates as ISO text): how a
preview stages what it fetched until it is applied."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sync_engine.domain import CreditNote, Customer, CustomerSnapshot, Invoice, Payment

__all__ = ["decode_snapshot", "encode_snapshot"]

_KINDS: dict[str, type[Any]] = {"invoices": Invoice, "credit_notes": CreditNote, "payments": Payment}
#: Fields kept as text in JSON and read back as these types (the rest are str or None already).
_DECIMALS = {"total_balance", "total_amount", "tax_amount", "due_amount", "amount"}
_DATES = {"invoice_date", "due_date", "credit_note_date", "payment_date"}


def encode_snapshot(snapshot: CustomerSnapshot) -> dict[str, Any]:
    encoded: dict[str, Any] = {
        "customer": _encode(asdict(snapshot.customer)),
        "fetched_at": snapshot.fetched_at.isoformat(),
    }
    for name in _KINDS:
        encoded[name] = [_encode(asdict(document)) for document in getattr(snapshot, name)]
    return encoded


def decode_snapshot(data: dict[str, Any]) -> CustomerSnapshot:
    documents = {name: [_decode(record, values) for values in data[name]] for name, record in _KINDS.items()}
    return CustomerSnapshot(
        customer=_decode(Customer, data["customer"]),
        fetched_at=datetime.fromisoformat(data["fetched_at"]),
        **documents,
    )


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):  # datetime is a date too: neither record holds one
        return value.isoformat()
    return value


def _decode(record: type[Any], values: dict[str, Any]) -> Any:
    def read(name: str) -> Any:
        value = values.get(name)
        if value is None:
            return None
        if name in _DECIMALS:
            return Decimal(value)
        if name in _DATES:
            return date.fromisoformat(value)
        return value

    return record(**{field.name: read(field.name) for field in fields(record)})
