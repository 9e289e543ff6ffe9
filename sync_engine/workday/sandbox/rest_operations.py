"""What the Customer Accounts REST invoices list answers, given the tenant's data: no HTTP, no credentials,
no knobs."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import date
from urllib.parse import parse_qs

from sync_engine.workday.sandbox import rest
from sync_engine.workday.sandbox.data import SandboxData
from sync_engine.workday.sandbox.model import CustomerView, SandboxInvoice
from sync_engine.workday.sandbox.replies import JSON_CONTENT_TYPE, Reply, in_turn, one_after_another

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "list_invoices"]

#: REST `limit`: "default is 20. The maximum is 100."
DEFAULT_LIMIT = 20
MAX_LIMIT = 100

_TRANSACTION_TYPES = {"invoice": "Invoice", "adjustment": "Adjustment"}
_WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")


def list_invoices(
    data: SandboxData,
    query: str,
    href_base: str,
    style: rest.AmountStyle = rest.DEFAULT_STYLE,
    *,
    invisible_every: int = 0,
    shuffle_seed: int | None = None,
    interleave_customers: bool = False,
) -> Reply:
    """`GET .../invoices`: invoices and adjustments of the billToCustomer(s), `limit` at a time.

    `invisible_every`: every n-th document is counted and takes its place but is not returned.
    `shuffle_seed`: the list in another order (pages past the first only).
    `interleave_customers`: the customers' documents one of each in turn, not customer by customer.
    """
    operation = "invoices"
    params = parse_qs(query, keep_blank_values=True)
    limit = _whole_number(params, "limit", DEFAULT_LIMIT)
    offset = _whole_number(params, "offset", 0)
    kind_param = params.get("transactionType", [None])[-1]
    detail = f"billToCustomer={','.join(params.get('billToCustomer', []))} offset={offset} limit={limit}"
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        return _json_error(400, f"limit must be between 1 and {MAX_LIMIT}", detail)
    if offset is None:
        return _json_error(400, "offset must be a non-negative integer", detail)
    kind = None if kind_param is None else _TRANSACTION_TYPES.get(kind_param.lower())
    if kind_param is not None and kind is None:
        return _json_error(400, "transactionType must be invoice or adjustment", detail)
    bounds: dict[str, date | None] = {}
    for name in ("fromInvoiceDate", "toInvoiceDate", "fromDueDate", "toDueDate"):
        raw = params.get(name, [None])[-1]
        bounds[name] = None if raw is None else _iso_date(raw)
        if raw is not None and bounds[name] is None:
            return _json_error(400, f"{name} must be a date (YYYY-MM-DD)", detail)

    moment = data.moment()
    wids = params.get("billToCustomer") or data.customer_wids
    views = []
    for wid in dict.fromkeys(wids):
        resolved = data.resolve("WID", wid)
        view = None if resolved is None else data.view(resolved, moment)
        if view is None:
            message = f"Invalid ID value. '{wid}' is not a valid ID value for type = 'WID'"
            return _json_error(
                400, "invalid request", detail, errors=[{"error": message, "field": "billToCustomer"}]
            )
        views.append(view)
    by_customer = [
        [
            (document, view)
            for document in view.documents
            if (kind is None or document.transaction_type == kind) and _within(document, bounds)
        ]
        for view in views
    ]
    rows = in_turn(by_customer) if interleave_customers else one_after_another(by_customer)
    if shuffle_seed is not None and offset > 0:
        random.Random(shuffle_seed).shuffle(rows)
    on_page: Sequence[tuple[SandboxInvoice, CustomerView]] = rows[offset : offset + limit]
    if invisible_every > 0:
        on_page = [row for position, row in enumerate(on_page, offset + 1) if position % invisible_every != 0]
    items = [
        rest.invoice_json(
            document,
            view.customer.name,
            view.related_invoice.get(document.wid),
            view.related_adjustments.get(document.wid, ()),
            f"{href_base}/{document.wid}",
            style,
        )
        for document, view in on_page
    ]
    body = rest.invoices_page(len(rows), items)
    page = offset // limit + 1
    return Reply(200, JSON_CONTENT_TYPE, body, operation, detail=detail, page=page, matched=len(rows))


def _iso_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None


def _within(document: SandboxInvoice, bounds: dict[str, date | None]) -> bool:
    """Whether the document's invoice and due dates fall within the query's from/to bounds."""
    for day, low, high in (
        (document.invoice_date, bounds["fromInvoiceDate"], bounds["toInvoiceDate"]),
        (document.due_date, bounds["fromDueDate"], bounds["toDueDate"]),
    ):
        if (low is not None or high is not None) and day is None:
            return False
        if day is not None and ((low is not None and day < low) or (high is not None and day > high)):
            return False
    return True


def _json_error(status: int, message: str, detail: str, **extra: rest.JsonValue) -> Reply:
    return Reply(status, JSON_CONTENT_TYPE, rest.error(message, **extra), "invoices", "fault", detail)


def _whole_number(params: dict[str, list[str]], name: str, default: int) -> int | None:
    values = params.get(name)
    if not values:
        return default
    return int(values[-1]) if _WHOLE_NUMBER.fullmatch(values[-1]) else None
