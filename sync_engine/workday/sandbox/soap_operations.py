"""What each Workday SOAP operation (Get_Customers, Get_Customer_Payments) answers, given the tenant's data:
no HTTP, no credentials, no knobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from lxml import etree

from sync_engine.workday.sandbox import soap_parsing as parsing
from sync_engine.workday.sandbox import soap_responses as responses
from sync_engine.workday.sandbox.data import SandboxData
from sync_engine.workday.sandbox.locales import LOCALES, FaultTexts
from sync_engine.workday.sandbox.model import CustomerView
from sync_engine.workday.sandbox.replies import (
    SOAP_CONTENT_TYPE,
    Reply,
    in_turn,
    one_after_another,
    soap_reply,
)

__all__ = ["Variations", "get_customer_payments", "get_customers"]

_CUSTOMER_FLAGS = ("Include_Reference", "Include_Customer_Data", "Include_Customer_Balance")
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
    #: Customer WIDs whose payments Get_Customer_Payments answers with an invalid-ID validation fault.
    hidden_payments_of: frozenset[str] = frozenset()
    #: List the documents of several customers one of each in turn (`SandboxKnobs.interleave_customers`).
    interleave_customers: bool = False


def get_customers(
    data: SandboxData, request: etree._Element, version: str, shape: Variations = Variations()
) -> Reply:
    """Customers by Request_References (in request order, all or nothing) or by Request_Criteria."""
    operation = "Get_Customers"
    references = parsing.references(request, operation, "Request_References", "Customer_Reference")
    sent = frozenset((reference.id_type, reference.value) for reference in references)
    detail = f"{len(references)} references" if references else "criteria"
    try:
        used = parsing.response_filter(request, operation)
        flags = parsing.response_group(request, operation, _CUSTOMER_FLAGS)
    except parsing.RequestInvalid as invalid:
        return _fault(operation, invalid.issues, detail, sent, shape.words)
    moment = data.moment(used.as_of_entry)

    echoes: list[etree._Element]
    if references:
        found: dict[str, CustomerView] = {}
        issues: list[parsing.ValidationIssue] = []
        for reference in references:
            wid = data.resolve(reference.id_type, reference.value, ignore_case=shape.references_ignore_case)
            view = None if wid is None else data.view(wid, moment)
            if view is None:
                issues.append(parsing.invalid_id(reference, shape.words))
            else:
                found.setdefault(view.customer.wid, view)
        if issues:
            return _fault(operation, issues, detail, sent, shape.words)
        selected = list(found.values())
        if shape.reverse_order:
            selected.reverse()
        echoes = [
            responses.container(
                "Request_References",
                [
                    responses.reference_element("Customer_Reference", [(ref.id_type, ref.value)])
                    for ref in references
                ],
            )
        ]
    else:
        selected, echoes = _customers_by_criteria(data, request, moment)
    if shape.echo_response_filter:
        echoes.append(responses.response_filter_element(used, moment))
    if flags is None:
        flags = {"Include_Reference": True, "Include_Customer_Data": True, "Include_Customer_Balance": False}
    else:
        echoes.append(
            responses.container(
                "Response_Group", [responses.text_element(flag, str(int(on))) for flag, on in flags.items()]
            )
        )

    on_page = _page(selected, used)
    fragments = [
        responses.customer_fragment(
            view.customer,
            (view.total_balance, view.overdue_balance) if flags["Include_Customer_Balance"] else None,
            flags["Include_Reference"],
            flags["Include_Customer_Data"],
        )
        for view in on_page
    ]
    return _page_reply(operation, version, echoes, fragments, used, len(selected), detail, sent)


def _customers_by_criteria(
    data: SandboxData, request: etree._Element, moment: datetime
) -> tuple[list[CustomerView], list[etree._Element]]:
    """Every customer, or those matching Customer_ID (ignoring case) and Customer_Name (a prefix)."""
    criteria = parsing.child(request, "Request_Criteria")
    customer_id = None if criteria is None else parsing.text(criteria, "Customer_ID")
    name = None if criteria is None else parsing.text(criteria, "Customer_Name")
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
            responses.container(
                "Request_Criteria",
                [responses.text_element(key, value) for key, value in echoed if value is not None],
            )
        )
    return selected, echoes


def get_customer_payments(
    data: SandboxData, request: etree._Element, version: str, shape: Variations = Variations()
) -> Reply:
    """Payments the Remit-from customers remitted (every payment when none is named), optionally by
    date."""
    operation = "Get_Customer_Payments"
    if parsing.child(request, "Request_References") is not None:
        message = "Get_Customer_Payments by Request_References is not implemented in sandbox."
        return soap_reply(
            operation, responses.processing_fault(message, shape.words), detail="Request_References"
        )
    references = parsing.references(request, operation, "Request_Criteria", "Remit-from_Customer_Reference")
    sent = frozenset((reference.id_type, reference.value) for reference in references)
    criteria = parsing.child(request, "Request_Criteria")
    issues: list[parsing.ValidationIssue] = []
    dates: dict[str, date | None] = {}
    for bound in ("Payment_Date_On_or_After", "Payment_Date_On_or_Before"):
        raw = None if criteria is None else parsing.text(criteria, bound)
        dates[bound] = None if raw is None else parsing.xsd_date_value(raw)
        if raw is not None and dates[bound] is None:
            xpath = f"/bsvc:{operation}_Request[1]/bsvc:Request_Criteria[1]/bsvc:{bound}[1]"
            issues.append(parsing.ValidationIssue(f"Invalid value for {bound}: '{raw}'.", xpath))
    try:
        used = parsing.response_filter(request, operation)
    except parsing.RequestInvalid as invalid:
        issues = invalid.issues + issues
    else:
        if shape.require_as_of_on_pages and used.page > 1 and used.as_of_entry is None:
            # WSDL: "If you set the page parameter, you must also specify the As_Of_Entry_Date".
            xpath = f"/bsvc:{operation}_Request[1]/bsvc:Response_Filter[1]"
            issues.append(parsing.ValidationIssue("As_Of_Entry_DateTime is required with Page.", xpath))
    if issues:
        return _fault(operation, issues, "", sent, shape.words)
    moment = data.moment(used.as_of_entry)
    detail = f"page={used.page} count={used.count} as_of={moment.isoformat()}"

    views: dict[str, CustomerView] = {}
    for reference in references:
        wid = data.resolve(reference.id_type, reference.value)
        view = None if wid is None or wid in shape.hidden_payments_of else data.view(wid, moment)
        if view is None:
            issues.append(parsing.invalid_id(reference, shape.words))
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
    payments = in_turn(by_remitter) if shape.interleave_customers else one_after_another(by_remitter)
    on_page = _page(payments, used)
    echoed_criteria = [
        responses.reference_element("Remit-from_Customer_Reference", [(ref.id_type, ref.value)])
        for ref in references
    ]
    echoed_criteria += [
        responses.text_element(bound, responses.xsd_date(day)) for bound, day in dates.items() if day
    ]
    echoes = [responses.container("Request_Criteria", echoed_criteria)]
    if shape.echo_response_filter:
        echoes.append(responses.response_filter_element(used, moment))
    fragments = [responses.payment_fragment(payment, customer) for payment, customer in on_page]
    return _page_reply(operation, version, echoes, fragments, used, len(payments), detail, sent)


def _page_reply(
    operation: str,
    version: str,
    echoes: Sequence[etree._Element],
    fragments: Sequence[bytes],
    used: parsing.ResponseFilter,
    matched: int,
    detail: str,
    sent: frozenset[tuple[str, str]],
) -> Reply:
    """One page of a `Get_` operation's answer: the request echoed, `fragments` of `matched` in all."""
    results = responses.PageResults(matched, used.count, used.page, len(fragments))
    body = responses.response(operation, version, echoes, results, fragments)
    return Reply(
        200,
        SOAP_CONTENT_TYPE,
        body,
        operation,
        detail=detail,
        references=sent,
        page=used.page,
        matched=matched,
    )


def _page(items: list[_T], used: parsing.ResponseFilter) -> list[_T]:
    start = (used.page - 1) * used.count
    return items[start : start + used.count]


def _fault(
    operation: str,
    issues: list[parsing.ValidationIssue],
    detail: str,
    sent: frozenset[tuple[str, str]],
    words: FaultTexts = LOCALES["en"],
) -> Reply:
    body = responses.validation_fault(issues, words)
    return Reply(500, SOAP_CONTENT_TYPE, body, operation, "fault", detail, sent)
