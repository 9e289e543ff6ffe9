"""JSON of the sandbox's REST resource `customerAccounts/v1/{tenant}/invoices` (pure).

Amounts are written from Decimal as exact JSON numbers (1200.10 stays `1200.10`, never a rounded float),
which the standard `json` module cannot do; every string goes through the `json` encoder. An invoice's JSON
is cached per record version and shape.

Workday's specs disagree on how an amount is written, so the sandbox writes each shape they allow
(`AMOUNT_SHAPES`): `{"value": 1.5, "currency": "USD"}` (the default), a plain number (2019 swagger), a
numeric string, and `{"value": 1.5, "currency": {"id": <WID>, "descriptor": "USD"}}` (a Currency reference).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TypeAlias

from sync_engine.workday.sandbox.catalog import INVOICE_STATUS_WIDS, PAYMENT_STATUS_WIDS, fixed_wid
from sync_engine.workday.sandbox.model import DocumentLink, SandboxInvoice

__all__ = [
    "AMOUNT_SHAPES",
    "DEFAULT_STYLE",
    "AmountStyle",
    "JsonValue",
    "encode",
    "error",
    "invoice_json",
    "invoices_page",
]

JsonValue: TypeAlias = "Decimal | str | int | bool | Mapping[str, JsonValue] | Sequence[JsonValue] | None"
#: Cached invoice JSON strings; generously above the largest benchmark (~20,000 documents).
INVOICE_CACHE_SIZE = 65_536
# A JSON string literal for a str (the encoder's fast path for strings).
_quote = json.JSONEncoder(ensure_ascii=False).encode
#: How amounts are written: "object" (the default), "number", "string", "reference", or "mixed" (each
#: document in one of the four, by its WID).
AMOUNT_SHAPES = ("object", "number", "string", "reference", "mixed")
_ROTATION = AMOUNT_SHAPES[:4]


@dataclass(frozen=True, slots=True)
class AmountStyle:
    """How a document's amounts are written (the sandbox's knobs; the defaults are the historical shape)."""

    shape: str = "object"
    #: Whether the document has its own `currency` field.
    document_currency: bool = True
    #: Adjustments written with `totalAmount` 0 (their figures only in net, tax and due amounts).
    zero_adjustment_totals: bool = False

    def __post_init__(self) -> None:
        if self.shape not in AMOUNT_SHAPES:
            raise ValueError(f"amount shape must be one of {', '.join(AMOUNT_SHAPES)}, not {self.shape!r}")


DEFAULT_STYLE = AmountStyle()


def encode(value: JsonValue) -> str:
    """Compact JSON for `value`, with every Decimal written exactly as a JSON number."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if value is None or isinstance(value, (str, bool, int)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(key)}:{encode(item)}" for key, item in value.items()) + "}"
    return "[" + ",".join(encode(item) for item in value) + "]"


def error(message: str, **extra: JsonValue) -> bytes:
    """Workday's REST error body: `{"error": message, ...}`."""
    return encode({"error": message, **extra}).encode()


@lru_cache(maxsize=INVOICE_CACHE_SIZE)
def invoice_json(
    document: SandboxInvoice,
    customer_name: str,
    related_invoice: DocumentLink | None,
    related_adjustments: tuple[DocumentLink, ...],
    href: str,
    style: AmountStyle = DEFAULT_STYLE,
) -> str:
    """One CustomerInvoice item: an invoice, or an adjustment (credit memo) with its signed total."""
    # Assembled from JSON-encoded strings rather than by `encode`: several times faster, which shows when a
    # benchmark's 20,000 documents are served for the first time.
    currency = document.currency
    shape = style.shape
    if shape == "mixed":
        shape = _ROTATION[int(document.wid[-4:], 16) % len(_ROTATION)]
    total = document.total_amount
    if style.zero_adjustment_totals and document.transaction_type == "Adjustment":
        total = Decimal(0)

    def money(amount: Decimal) -> str:
        return _money(amount, currency, shape)

    fields = (
        ("id", _quote(document.wid)),
        ("descriptor", _quote(document.invoice_number)),
        ("invoiceNumber", _quote(document.invoice_number)),
        ("transactionType", _quote(document.transaction_type)),
        ("invoiceDate", _quote(document.invoice_date.isoformat())),
        ("dueDate", _quote(document.due_date.isoformat()) if document.due_date else "null"),
        ("totalAmount", money(total)),
        ("netAmount", money(document.net_amount)),
        ("taxAmount", money(document.tax_amount)),
        ("dueAmount", money(document.due_amount)),
        ("currency", f'{{"descriptor":{_quote(currency)}}}' if style.document_currency else None),
        ("company", _link(document.company.wid, document.company.name)),
        ("billToCustomer", _link(document.customer_wid, customer_name)),
        ("invoiceStatus", _link(INVOICE_STATUS_WIDS[document.invoice_status], document.invoice_status)),
        ("paymentStatus", _link(PAYMENT_STATUS_WIDS[document.payment_status], document.payment_status)),
        (
            "relatedInvoice",
            _link(related_invoice.wid, related_invoice.descriptor) if related_invoice else "null",
        ),
        (
            "relatedAdjustments",
            "[" + ",".join(_link(link.wid, link.descriptor) for link in related_adjustments) + "]",
        ),
        ("href", _quote(href)),
    )
    return "{" + ",".join(f'"{name}":{value}' for name, value in fields if value is not None) + "}"


def invoices_page(total: int, items: Sequence[str]) -> bytes:
    """`{"total": N, "data": [...]}` around items already encoded."""
    return f'{{"total":{total},"data":[{",".join(items)}]}}'.encode()


def _money(amount: Decimal, currency: str, shape: str) -> str:
    if shape == "number":
        return f"{amount:f}"
    if shape == "string":
        return _quote(f"{amount:f}")
    if shape == "reference":
        reference = _link(fixed_wid("currency", currency), currency)
        return f'{{"value":{amount:f},"currency":{reference}}}'
    return f'{{"value":{amount:f},"currency":{_quote(currency)}}}'


def _link(wid: str, descriptor: str) -> str:
    return f'{{"id":{_quote(wid)},"descriptor":{_quote(descriptor)}}}'
