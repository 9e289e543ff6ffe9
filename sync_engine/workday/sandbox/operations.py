"""What each Workday operation answers, given the tenant's data: no HTTP, no credentials, no knobs."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from urllib.parse import parse_qs

from lxml import etree

from sync_engine.workday.sandbox import rest, soap
from sync_engine.workday.sandbox.data import SandboxData
from sync_engine.workday.sandbox.locales import LOCALES, FaultTexts
from sync_engine.workday.sandbox.model import CustomerView, SandboxInvoice

__all__ = [
    "DEFAULT_LIMIT",
    "HTML_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "MAX_LIMIT",
    "SOAP_CONTENT_TYPE",
    "Reply",
    "Variations",
    "get_customer_payments",
    "get_customers",
    "list_invoices",
    "soap_reply",
]

SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
#: REST `limit`: "default is 20. The maximum is 100."
DEFAULT_LIMIT = 20
MAX_LIMIT = 100

_CUSTOMER_FLAGS = ("Include_Reference", "Include_Customer_Data", "Include_Customer_Balance")
_TRANSACTION_TYPES = {"invoice": "Invoice", "adjustment": "Adjustment"}
_WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Variations:
    """Where the contract lets Workday answer in several ways, which way this request gets (from the knobs);
    the defaults are the sandbox's usual answers."""

    words: FaultTexts = LOCALES["en"]
    #: Echo the Response_Filter (with the moment served) in SOAP responses.
    echo_response_filter: bool = True
    #: Refuse a Get_Customer_Payments page after the first that sets no As_Of_Entry_DateTime.
    require_as_of_on_pages: bool = False
    #: Customer_ID and Customer_Reference_ID references match whatever their case.
    references_ignore_case: bool = False
    #: Answer Get_Customers in reverse request order.
    reverse_order: bool = False
    #: List the documents of several customers one of each in turn (`SandboxKnobs.interleave_customers`).
    interleave_customers: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer and what the request log should say about it."""

    status: int
    content_type: str
    body: bytes
    #: "token", "Get_Customers", "Get_Customer_Payments", "invoices", another SOAP operation or "unknown".
    operation: str
    #: "ok", "fault", "throttled", "unauthorized", "timeout" or "too_large" (broken off).
    outcome: str = "ok"
    detail: str = ""
    references: frozenset[tuple[str, str]] = frozenset()
    headers: tuple[tuple[str, str], ...] = ()
    #: The page served, for the knob that slows page 1 down.
    page: int | None = None
    #: Close the connection after answering (the body may not have been read).
    close: bool = False
    #: Send only this many bytes of the body, then close the connection (a response broken off).
    cut_at: int | None = None
    #: Documents (or customers) the query matched over all its pages, for the knob that prices page 1.
    matched: int = 0
    #: Seconds page 1 took to build because of that knob (logged, so tests need no clock).
    priced_seconds: float = 0.0


def soap_reply(operation: str, body: bytes, *, outcome: str = "fault", detail: str = "") -> Reply:
    """A SOAP fault: HTTP 500, logged as a "fault" unless `outcome` says otherwise."""
    return Reply(500, SOAP_CONTENT_TYPE, body, operation, outcome, detail)


def get_customers(
    data: SandboxData, request: etree._Element, version: str, shape: Variations = Variations()
) -> Reply:
    """Customers by Request_References (in request order, all or nothing) or by Request_Criteria."""
    operation = "Get_Customers"
    references = soap.references(request, operation, "Request_References", "Customer_Reference")
    sent = frozenset((reference.id_type, reference.value) for reference in references)
    detail = f"{len(references)} references" if references else "criteria"
    try:
        used = soap.response_filter(request, operation)
        flags = soap.response_group(request, operation, _CUSTOMER_FLAGS)
    except soap.RequestInvalid as invalid:
        return _fault(operation, invalid.issues, detail, sent, shape.words)
    moment = data.moment(used.as_of_entry)

    echoes: list[etree._Element]
    if references:
        found: dict[str, CustomerView] = {}
        issues: list[soap.ValidationIssue] = []
        for reference in references:
            wid = data.resolve(reference.id_type, reference.value, ignore_case=shape.references_ignore_case)
            view = None if wid is None else data.view(wid, moment)
            if view is None:
                issues.append(soap.invalid_id(reference, shape.words))
            else:
                found.setdefault(view.customer.wid, view)
        if issues:
            return _fault(operation, issues, detail, sent, shape.words)
        selected = list(found.values())
        if shape.reverse_order:
            selected.reverse()
        echoes = [
            soap.container(
                "Request_References",
                [
                    soap.reference_element("Customer_Reference", [(ref.id_type, ref.value)])
                    for ref in references
                ],
            )
        ]
    else:
        selected, echoes = _customers_by_criteria(data, request, moment)
    if shape.echo_response_filter:
        echoes.append(soap.response_filter_element(used, moment))
    if flags is None:
        flags = {"Include_Reference": True, "Include_Customer_Data": True, "Include_Customer_Balance": False}
    else:
        echoes.append(
            soap.container(
                "Response_Group", [soap.text_element(flag, str(int(on))) for flag, on in flags.items()]
            )
        )

    on_page = _page(selected, used)
    fragments = [
        soap.customer_fragment(
            view.customer,
            (view.total_balance, view.overdue_balance) if flags["Include_Customer_Balance"] else None,
            flags["Include_Reference"],
            flags["Include_Customer_Data"],
        )
        for view in on_page
    ]
    results = soap.PageResults(len(selected), used.count, used.page, len(on_page))
    body = soap.response(operation, version, echoes, results, fragments)
    return Reply(
        200,
        SOAP_CONTENT_TYPE,
        body,
        operation,
        detail=detail,
        references=sent,
        page=used.page,
        matched=len(selected),
    )


def _customers_by_criteria(
    data: SandboxData, request: etree._Element, moment: datetime
) -> tuple[list[CustomerView], list[etree._Element]]:
    """Every customer, or those matching Customer_ID (ignoring case) and Customer_Name (a prefix)."""
    criteria = soap.child(request, "Request_Criteria")
    customer_id = None if criteria is None else soap.text(criteria, "Customer_ID")
    name = None if criteria is None else soap.text(criteria, "Customer_Name")
    selected = []
    for wid in data.customer_wids:
        view = data.view(wid, moment)
        if view is None:
            continue
        if customer_id is not None and view.customer.customer_id.lower() != customer_id.lower():
            continue
        if name is not None and not view.customer.name.lower().startswith(name.lower()):
            continue
        selected.append(view)
    echoed = [("Customer_ID", customer_id), ("Customer_Name", name)]
    echoes = []
    if criteria is not None:
        echoes.append(
            soap.container(
                "Request_Criteria",
                [soap.text_element(key, value) for key, value in echoed if value is not None],
            )
        )
    return selected, echoes


def get_customer_payments(
    data: SandboxData, request: etree._Element, version: str, shape: Variations = Variations()
) -> Reply:
    """Payments the Remit-from customers remitted (every payment when none is named), optionally by
    date."""
    operation = "Get_Customer_Payments"
    if soap.child(request, "Request_References") is not None:
        message = "Get_Customer_Payments by Request_References is not implemented in sandbox."
        return soap_reply(operation, soap.processing_fault(message, shape.words), detail="Request_References")
    references = soap.references(request, operation, "Request_Criteria", "Remit-from_Customer_Reference")
    sent = frozenset((reference.id_type, reference.value) for reference in references)
    criteria = soap.child(request, "Request_Criteria")
    issues: list[soap.ValidationIssue] = []
    dates: dict[str, date | None] = {}
    for bound in ("Payment_Date_On_or_After", "Payment_Date_On_or_Before"):
        raw = None if criteria is None else soap.text(criteria, bound)
        dates[bound] = None if raw is None else soap.xsd_date_value(raw)
        if raw is not None and dates[bound] is None:
            xpath = f"/bsvc:{operation}_Request[1]/bsvc:Request_Criteria[1]/bsvc:{bound}[1]"
            issues.append(soap.ValidationIssue(f"Invalid value for {bound}: '{raw}'.", xpath))
    try:
        used = soap.response_filter(request, operation)
    except soap.RequestInvalid as invalid:
        issues = invalid.issues + issues
    else:
        if shape.require_as_of_on_pages and used.page > 1 and used.as_of_entry is None:
            # WSDL: "If you set the page parameter, you must also specify the As_Of_Entry_Date".
            xpath = f"/bsvc:{operation}_Request[1]/bsvc:Response_Filter[1]"
            issues.append(soap.ValidationIssue("As_Of_Entry_DateTime is required with Page.", xpath))
    if issues:
        return _fault(operation, issues, "", sent, shape.words)
    moment = data.moment(used.as_of_entry)
    detail = f"page={used.page} count={used.count} as_of={moment.isoformat()}"

    views: dict[str, CustomerView] = {}
    for reference in references:
        wid = data.resolve(reference.id_type, reference.value)
        view = None if wid is None else data.view(wid, moment)
        if view is None:
            issues.append(soap.invalid_id(reference, shape.words))
        else:
            views.setdefault(view.customer.wid, view)
    if issues:
        return _fault(operation, issues, detail, sent, shape.words)
    if not references:
        views = {wid: view for wid in data.customer_wids if (view := data.view(wid, moment)) is not None}

    after, before = dates["Payment_Date_On_or_After"], dates["Payment_Date_On_or_Before"]
    by_remitter = [
        [
            (payment, view.customer)
            for payment in view.payments
            # Asked by remitter: a payment recorded without one is not found that way.
            if (payment.remit_from or not references)
            and (after is None or payment.payment_date >= after)
            and (before is None or payment.payment_date <= before)
        ]
        for view in views.values()
    ]
    payments = _in_turn(by_remitter) if shape.interleave_customers else _one_after_another(by_remitter)
    on_page = _page(payments, used)
    echoed_criteria = [
        soap.reference_element("Remit-from_Customer_Reference", [(ref.id_type, ref.value)])
        for ref in references
    ]
    echoed_criteria += [soap.text_element(bound, soap.xsd_date(day)) for bound, day in dates.items() if day]
    echoes = [soap.container("Request_Criteria", echoed_criteria)]
    if shape.echo_response_filter:
        echoes.append(soap.response_filter_element(used, moment))
    results = soap.PageResults(len(payments), used.count, used.page, len(on_page))
    fragments = [soap.payment_fragment(payment, customer) for payment, customer in on_page]
    body = soap.response(operation, version, echoes, results, fragments)
    return Reply(
        200,
        SOAP_CONTENT_TYPE,
        body,
        operation,
        detail=detail,
        references=sent,
        page=used.page,
        matched=len(payments),
    )


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
    rows = _in_turn(by_customer) if interleave_customers else _one_after_another(by_customer)
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


def _one_after_another(lists: list[list[_T]]) -> list[_T]:
    return [item for items in lists for item in items]


def _in_turn(lists: list[list[_T]]) -> list[_T]:
    """One item of each list in turn, as long as any has items left (a stable order: pages can be read)."""
    return [item for row in itertools.zip_longest(*lists) for item in row if item is not None]


def _page(items: list[_T], used: soap.ResponseFilter) -> list[_T]:
    start = (used.page - 1) * used.count
    return items[start : start + used.count]


def _fault(
    operation: str,
    issues: list[soap.ValidationIssue],
    detail: str,
    sent: frozenset[tuple[str, str]],
    words: FaultTexts = LOCALES["en"],
) -> Reply:
    body = soap.validation_fault(issues, words)
    return Reply(500, SOAP_CONTENT_TYPE, body, operation, "fault", detail, sent)


def _json_error(status: int, message: str, detail: str, **extra: rest.JsonValue) -> Reply:
    return Reply(status, JSON_CONTENT_TYPE, rest.error(message, **extra), "invoices", "fault", detail)


def _whole_number(params: dict[str, list[str]], name: str, default: int) -> int | None:
    values = params.get(name)
    if not values:
        return default
    return int(values[-1]) if _WHOLE_NUMBER.fullmatch(values[-1]) else None
