"""SOAP of the sandbox, writing (pure): response envelopes, the records' elements, and faults.

Every value goes through lxml, which escapes it. A record's element (a Customer, a Customer_Payment) is
serialised once per record version and cached; a response splices those cached bytes into an envelope that
lxml serialised, so a page of 999 payments costs a join rather than tens of thousands of new elements.
Responses use the `env:` prefix and faults `SOAP-ENV:`, as Workday does; clients must read namespaces.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from lxml import etree

from sync_engine.workday.sandbox.catalog import (
    CURRENCIES,
    CUSTOMER_STATUS_IDS,
    PAYMENT_TYPES,
    TENANT_TIMEZONE,
    fixed_wid,
    payment_terms,
)
from sync_engine.workday.sandbox.locales import LOCALES, FaultTexts
from sync_engine.workday.sandbox.model import SandboxCustomer, SandboxPayment
from sync_engine.workday.sandbox.soap_parsing import (
    ENV,
    SOAP_ENV_NS,
    WD,
    WD_NS,
    ResponseFilter,
    ValidationIssue,
)

__all__ = [
    "THROTTLED_BODY",
    "PageResults",
    "authentication_fault",
    "container",
    "customer_fragment",
    "malformed_fault",
    "payment_fragment",
    "processing_fault",
    "reference_element",
    "response",
    "response_filter_element",
    "text_element",
    "validation_fault",
    "version_fault",
    "xsd_date",
]

_WD_NSMAP = {"wd": WD_NS}
# What lxml writes on a fragment's root element; dropped because the response element declares it once.
_WD_DECLARATION = f' xmlns:wd="{WD_NS}"'.encode()
_EMPTY_RESPONSE_DATA = b"<wd:Response_Data/>"
# The tenant's UTC offset as xsd:date writes it, e.g. "-08:00".
_OFFSET = datetime(2000, 1, 1, tzinfo=TENANT_TIMEZONE).isoformat()[-6:]
#: What a throttled SOAP call gets: a plain HTTP 500 page, not a SOAP fault.
THROTTLED_BODY = b"<html><body>500 Internal Server Error</body></html>"
#: Cached serialised records; generously above the largest benchmark (~20,000 documents).
FRAGMENT_CACHE_SIZE = 65_536


@dataclass(frozen=True, slots=True)
class PageResults:
    total: int
    count: int
    page: int
    on_page: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.count)


def xsd_date(day: date) -> str:
    """A date as Workday writes it: with the tenant's offset (`2026-10-01-08:00`)."""
    return f"{day.isoformat()}{_OFFSET}"


def _xsd_datetime(moment: datetime) -> str:
    """To the millisecond, as Workday writes it; to the microsecond when the moment is finer (a moment pinned
    at a mutation), so an echo always names the moment served."""
    precision = "milliseconds" if moment.microsecond % 1000 == 0 else "microseconds"
    return moment.astimezone(TENANT_TIMEZONE).isoformat(timespec=precision)


def _decimal(amount: Decimal) -> str:
    return format(amount, "f")


def text_element(name: str, value: str) -> etree._Element:
    """A standalone `wd:{name}` holding `value` (for echoes)."""
    element = etree.Element(f"{WD}{name}", nsmap=_WD_NSMAP)
    element.text = value
    return element


def container(name: str, children: Iterable[etree._Element]) -> etree._Element:
    """A standalone `wd:{name}` wrapping `children`."""
    element = etree.Element(f"{WD}{name}", nsmap=_WD_NSMAP)
    element.extend(children)
    return element


def reference_element(
    name: str, ids: Iterable[tuple[str, str]], descriptor: str | None = None
) -> etree._Element:
    """A standalone `wd:{name}` reference with one `wd:ID` per (type, value)."""
    element = etree.Element(f"{WD}{name}", nsmap=_WD_NSMAP)
    _fill_reference(element, ids, descriptor)
    return element


def response_filter_element(used: ResponseFilter, moment: datetime) -> etree._Element:
    """The echoed Response_Filter, with the moment actually used filled in."""
    effective = used.as_of_effective or moment.astimezone(TENANT_TIMEZONE).date()
    return container(
        "Response_Filter",
        [
            text_element("As_Of_Effective_Date", xsd_date(effective)),
            text_element("As_Of_Entry_DateTime", _xsd_datetime(moment)),
            text_element("Page", str(used.page)),
            text_element("Count", str(used.count)),
        ],
    )


def response(
    operation: str,
    version: str,
    echoes: Sequence[etree._Element],
    results: PageResults,
    fragments: Sequence[bytes],
) -> bytes:
    """A `wd:{operation}_Response` envelope: the echoes, Response_Results, then the records' fragments."""
    envelope = etree.Element(f"{ENV}Envelope", nsmap={"env": SOAP_ENV_NS})
    body = etree.SubElement(envelope, f"{ENV}Body")
    answer = etree.SubElement(body, f"{WD}{operation}_Response", nsmap=_WD_NSMAP)
    answer.set(f"{WD}version", version)
    answer.extend(echoes)
    answer.append(
        container(
            "Response_Results",
            [
                text_element("Total_Results", str(results.total)),
                text_element("Total_Pages", str(results.total_pages)),
                text_element("Page_Results", str(results.on_page)),
                text_element("Page", str(results.page)),
            ],
        )
    )
    etree.SubElement(answer, f"{WD}Response_Data")
    head, _, tail = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8").partition(
        _EMPTY_RESPONSE_DATA
    )
    return b"".join((head, b"<wd:Response_Data>", *fragments, b"</wd:Response_Data>", tail))


@lru_cache(maxsize=FRAGMENT_CACHE_SIZE)
def customer_fragment(
    customer: SandboxCustomer,
    balance: tuple[Decimal, Decimal] | None,
    include_reference: bool,
    include_data: bool,
) -> bytes:
    """A `wd:Customer` (reference, data, and (total, overdue) balance when given), in the WSDL's order."""
    root = etree.Element(f"{WD}Customer", nsmap=_WD_NSMAP)
    if include_reference:
        _reference(root, "Customer_Reference", _customer_ids(customer), customer.name)
    if include_data:
        data = etree.SubElement(root, f"{WD}Customer_Data")
        _text(data, "Customer_ID", customer.customer_id)
        if customer.customer_reference_id:
            _text(data, "Customer_Reference_ID", customer.customer_reference_id)
        _text(data, "Customer_Name", customer.name)
        _text(data, "Worktag_Only", "0")
        if customer.payer_wid is not None:
            _reference(data, "Remit-from_Customer_Reference", [("WID", customer.payer_wid)])
        terms, terms_id, terms_wid = payment_terms(customer.payment_terms_days)
        _reference(
            data, "Payment_Terms_Reference", [("WID", terms_wid), ("Payment_Terms_ID", terms_id)], terms
        )
        entity = etree.SubElement(data, f"{WD}Business_Entity_Data")
        _text(entity, "Business_Entity_Name", customer.name)
        status = etree.SubElement(data, f"{WD}Customer_Status_Data")
        status_id = CUSTOMER_STATUS_IDS[customer.status]
        _reference(
            status,
            "Customer_Status_Value_Reference",
            [
                ("WID", fixed_wid("customer_status", status_id)),
                ("Business_Entity_Status_Value_ID", status_id),
            ],
            customer.status,
        )
        _currency_reference(data, "Currency_Reference", customer.currency)
    if balance is not None:
        balances = etree.SubElement(root, f"{WD}Customer_Balance_Data")
        _currency_reference(balances, "Default_Currency_Reference", customer.currency)
        _text(balances, "Total_Balance", _decimal(balance[0]))
        _text(balances, "Overdue_Balance", _decimal(balance[1]))
    return _fragment(root)


@lru_cache(maxsize=FRAGMENT_CACHE_SIZE)
def payment_fragment(payment: SandboxPayment, customer: SandboxCustomer) -> bytes:
    """A `wd:Customer_Payment`; its data in Customer_Payment_for_Invoices_WWS_DataType order."""
    root = etree.Element(f"{WD}Customer_Payment", nsmap=_WD_NSMAP)
    descriptor = f"Customer Payment: {payment.payment_number or payment.reference_id}"
    _reference(
        root,
        "Customer_Payment_Reference",
        [("WID", payment.wid), ("Customer_Payment_for_Invoices_Reference_ID", payment.reference_id)],
        descriptor,
    )
    data = etree.SubElement(root, f"{WD}Customer_Payment_Data")
    _text(data, "Customer_Payment_for_Invoices_Reference_ID", payment.reference_id)
    _text(data, "Locked_in_Workday", "0")
    company = payment.company
    _reference(
        data,
        "Company_Reference",
        [("WID", company.wid), ("Company_Reference_ID", company.reference_id)],
        company.name,
    )
    _currency_reference(data, "Payment_Currency_Reference", payment.currency)
    _text(data, "Payment_Date", xsd_date(payment.payment_date))
    payment_type = PAYMENT_TYPES[payment.payment_type]
    _reference(
        data,
        "Payment_Type_Reference",
        [("WID", payment_type.wid), ("Payment_Type_ID", payment_type.type_id)],
        payment_type.name,
    )
    _text(data, "Payment_Status", payment.payment_status)
    _text(data, "Payment_Application_Status", payment.application_status)
    if payment.payment_number is not None:
        _text(data, "Payment_Number", payment.payment_number)
    _text(data, "Payment_Amount", _decimal(payment.amount))
    if payment.remit_from:
        _reference(data, "Remit-from_Customer_Reference", _customer_ids(customer), customer.name)
    if payment.check_number is not None:
        _text(data, "Check_Number", payment.check_number)
    if payment.memo is not None:
        _text(data, "Payment_Memo", payment.memo)
    for line in payment.remittance:
        advice = etree.SubElement(data, f"{WD}Customer_Payment_Remittance_Advice_Data")
        _reference(advice, "Customer_Invoice_Reference", [("WID", line.invoice_wid)])
        _text(advice, "Amount_to_Pay", _decimal(line.amount))
        _reference(advice, "Bill-to_Customer_Reference", [("WID", line.bill_to_wid)])
    return _fragment(root)


def _customer_ids(customer: SandboxCustomer) -> list[tuple[str, str]]:
    ids = [("WID", customer.wid), ("Customer_ID", customer.customer_id)]
    if customer.customer_reference_id:
        ids.append(("Customer_Reference_ID", customer.customer_reference_id))
    return ids


def _currency_reference(parent: etree._Element, name: str, code: str) -> None:
    currency = CURRENCIES[code]
    ids = [
        ("WID", currency.wid),
        ("Currency_ID", currency.code),
        ("Currency_Numeric_Code", currency.numeric_code),
    ]
    _reference(parent, name, ids, currency.code)


def _reference(
    parent: etree._Element, name: str, ids: Iterable[tuple[str, str]], descriptor: str | None = None
) -> None:
    _fill_reference(etree.SubElement(parent, f"{WD}{name}"), ids, descriptor)


def _fill_reference(element: etree._Element, ids: Iterable[tuple[str, str]], descriptor: str | None) -> None:
    if descriptor is not None:
        element.set(f"{WD}Descriptor", descriptor)
    for id_type, value in ids:
        identifier = etree.SubElement(element, f"{WD}ID")
        identifier.set(f"{WD}type", id_type)
        identifier.text = value


def _text(parent: etree._Element, name: str, value: str) -> None:
    etree.SubElement(parent, f"{WD}{name}").text = value


def _fragment(root: etree._Element) -> bytes:
    return etree.tostring(root, encoding="UTF-8").replace(_WD_DECLARATION, b"", 1)


# --- faults ---------------------------------------------------------------------------------------


def validation_fault(issues: Sequence[ValidationIssue], words: FaultTexts = LOCALES["en"]) -> bytes:
    """`SOAP-ENV:Client.validationError` with one `wd:Validation_Error` per issue; the faultstring names the
    first."""
    errors = []
    for issue in issues:
        children = [text_element("Message", issue.message), text_element("Detail_Message", issue.message)]
        if issue.xpath is not None:
            children.append(text_element("Xpath", issue.xpath))
        errors.append(container("Validation_Error", children))
    first = issues[0]
    return _fault(
        "SOAP-ENV:Client.validationError",
        f"{words.validation} {first.summary or first.message}",
        container("Validation_Fault", errors),
    )


def authentication_fault() -> bytes:
    return _fault("SOAP-ENV:Client.authenticationError", "invalid username or password")


def version_fault(words: FaultTexts = LOCALES["en"]) -> bytes:
    return _fault("SOAP-ENV:Client.validationError", words.version)


def processing_fault(message: str, words: FaultTexts = LOCALES["en"]) -> bytes:
    """`SOAP-ENV:Server.processingError` "Processing error occurred. {message}" with a Processing_Fault."""
    full = f"{words.processing} {message}"
    return _fault(
        "SOAP-ENV:Server.processingError",
        full,
        container("Processing_Fault", [text_element("Detail_Message", full)]),
    )


def malformed_fault(reason: str) -> bytes:
    return _fault("SOAP-ENV:Client.validationError", f"Validation error occurred. {reason}")


def _fault(code: str, message: str, detail: etree._Element | None = None) -> bytes:
    envelope = etree.Element(f"{ENV}Envelope", nsmap={"SOAP-ENV": SOAP_ENV_NS})
    body = etree.SubElement(envelope, f"{ENV}Body")
    fault = etree.SubElement(body, f"{ENV}Fault", nsmap=_WD_NSMAP)
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = message
    if detail is not None:
        etree.SubElement(fault, "detail").append(detail)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
