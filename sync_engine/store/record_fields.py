"""The names the domain records and the store's columns share (a test holds the two in step)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sync_engine.domain import CreditNote, Customer, Invoice, Payment

__all__ = ["CUSTOMER_FIELDS", "CUSTOMER_FIELDS_BUT_WID", "DOCUMENT_FIELDS"]


def _field_names(record_type: type[Any]) -> tuple[str, ...]:
    return tuple(field.name for field in fields(record_type))


CUSTOMER_FIELDS = _field_names(Customer)
CUSTOMER_FIELDS_BUT_WID = tuple(name for name in CUSTOMER_FIELDS if name != "wid")
DOCUMENT_FIELDS: dict[type[Any], tuple[str, ...]] = {
    record_type: _field_names(record_type) for record_type in (Invoice, CreditNote, Payment)
}
