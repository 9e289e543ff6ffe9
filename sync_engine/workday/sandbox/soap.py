"""SOAP of the sandbox (pure): reading Revenue_Management requests, writing responses and faults.

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
from decimal import Decimal, InvalidOperation
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

__all__ = [
    "DEFAULT_COUNT",
    "MAX_COUNT",
    "SOAP_ENV_NS",
    "SUPPORTED_VERSIONS",
    "THROTTLED_BODY",
    "WD_NS",
    "PageResults",
    "Reference",
    "RequestInvalid",
    "ResponseFilter",
    "SoapRequestError",
    "ValidationIssue",
    "authentication_fault",
    "child",
    "container",
    "customer_fragment",
    "invalid_id",
    "malformed_fault",
    "operation_name",
    "parse_request",
    "payment_fragment",
    "processing_fault",
    "reference_element",
    "references",
    "request_version",
    "response",
    "response_filter",
    "response_filter_element",
    "response_group",
    "text",
    "text_element",
    "validation_fault",
    "version_fault",
    "xsd_date",
    "xsd_date_value",
]

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WD_NS = "urn:com.workday/bsvc"
_ENV = f"{{{SOAP_ENV_NS}}}"
_WD = f"{{{WD_NS}}}"
_WD_NSMAP = {"wd": WD_NS}
# What lxml writes on a fragment's root element; dropped because the response element declares it once.
_WD_DECLARATION = f' xmlns:wd="{WD_NS}"'.encode()
_EMPTY_RESPONSE_DATA = b"<wd:Response_Data/>"
# The tenant's UTC offset as xsd:date writes it, e.g. "-08:00".
_OFFSET = datetime(2000, 1, 1, tzinfo=TENANT_TIMEZONE).isoformat()[-6:]

#: API versions this tenant answers.
SUPPORTED_VERSIONS = frozenset({"v44.0", "v44.1", "v44.2", "v45.0", "v45.1", "v45.2"})
#: Response_Filter/Count bounds (Workday: "Set a value between 1 and 999. The default value is 100.").
DEFAULT_COUNT = 100
MAX_COUNT = 999
#: What a throttled SOAP call gets: a plain HTTP 500 page, not a SOAP fault.
THROTTLED_BODY = b"<html><body>500 Internal Server Error</body></html>"
#: Cached serialised records; generously above the largest benchmark (~20,000 documents).
FRAGMENT_CACHE_SIZE = 65_536


# --- reading requests -----------------------------------------------------------------------------


class SoapRequestError(Exception):
    """The body is not a SOAP 1.1 message with a request in it."""


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One `wd:Validation_Error` of a validation fault."""

    message: str
    xpath: str | None = None
    #: The faultstring's wording after "Validation error occurred. ", when it differs from `message`.
    summary: str | None = None


class RequestInvalid(Exception):
    """The request breaks a rule of the schema or of Workday; becomes one validation fault."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        super().__init__(issues[0].message)
        self.issues = issues


@dataclass(frozen=True, slots=True)
class Reference:
    """A `*_Reference` of a request: its (first) ID and the positional Xpath Workday reports it by."""

    id_type: str
    value: str
    xpath: str


@dataclass(frozen=True, slots=True)
class ResponseFilter:
    page: int = 1
    count: int = DEFAULT_COUNT
    as_of_entry: datetime | None = None
    as_of_effective: date | None = None


def parse_request(body: bytes) -> etree._Element:
    """The request element (the Body's first child) of a SOAP envelope."""
    # No DTDs, no entities, no network: hostile XML stays inert.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError) as error:
        raise SoapRequestError(f"The request is not well-formed XML: {error}") from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise SoapRequestError("A SOAP message must not contain a Document Type Declaration.")
    if root.tag != f"{_ENV}Envelope":
        raise SoapRequestError("The request is not a SOAP 1.1 Envelope.")
    body_element = root.find(f"{_ENV}Body")
    children = [] if body_element is None else [child for child in body_element if isinstance(child.tag, str)]
    request = children[0] if children else None
    if request is None:
        raise SoapRequestError("The SOAP Body holds no request.")
    return request


def operation_name(request: etree._Element) -> str | None:
    """`Get_Customers` for a `wd:Get_Customers_Request`; None for anything outside the Workday namespace."""
    name = etree.QName(request)
    if name.namespace != WD_NS or not name.localname.endswith("_Request"):
        return None
    return name.localname.removesuffix("_Request")


def request_version(request: etree._Element) -> str | None:
    """The request's `wd:version` attribute, if any."""
    return request.get(f"{_WD}version")


def child(element: etree._Element, name: str) -> etree._Element | None:
    """The child `wd:{name}`, if any."""
    return element.find(f"{_WD}{name}")


def text(element: etree._Element, name: str) -> str | None:
    """Text of the child `wd:{name}`; None when absent."""
    child = element.find(f"{_WD}{name}")
    return None if child is None else child.text or ""


def references(request: etree._Element, operation: str, container_name: str, name: str) -> list[Reference]:
    """Every `container_name/name` reference of the request, in order."""
    found: list[Reference] = []
    for block_index, block in enumerate(request.findall(f"{_WD}{container_name}"), start=1):
        for index, reference in enumerate(block.findall(f"{_WD}{name}"), start=1):
            identifier = reference.find(f"{_WD}ID")
            id_type = "" if identifier is None else identifier.get(f"{_WD}type", "")
            value = "" if identifier is None else identifier.text or ""
            xpath = f"/bsvc:{operation}_Request[1]/bsvc:{container_name}[{block_index}]/bsvc:{name}[{index}]"
            found.append(Reference(id_type, value, xpath))
    return found


def invalid_id(reference: Reference, words: FaultTexts = LOCALES["en"]) -> ValidationIssue:
    """Workday's error for a reference that names nothing (its English faultstring has a double space)."""
    message = words.invalid(reference.value, reference.id_type)
    summary = message.replace("Invalid ID value. ", "Invalid ID value.  ", 1)
    return ValidationIssue(message, reference.xpath, summary if summary != message else None)


def response_filter(request: etree._Element, operation: str) -> ResponseFilter:
    """The request's Response_Filter, or `RequestInvalid` naming every bad field."""
    element = request.find(f"{_WD}Response_Filter")
    if element is None:
        return ResponseFilter()
    base = f"/bsvc:{operation}_Request[1]/bsvc:Response_Filter[1]"
    issues: list[ValidationIssue] = []

    page = _whole_number(text(element, "Page"), default=1, digits=12)
    if page is None:
        issues.append(
            ValidationIssue(f"Invalid value for Page: '{text(element, 'Page')}'.", f"{base}/bsvc:Page[1]")
        )
    elif page == 0:
        issues.append(ValidationIssue("Page Number cannot be zero.", base))
    count = _whole_number(text(element, "Count"), default=DEFAULT_COUNT, digits=3)
    if count is None or not 1 <= count <= MAX_COUNT:
        issues.append(
            ValidationIssue(
                f"Invalid value for Count: '{text(element, 'Count')}'. "
                f"Set a value between 1 and {MAX_COUNT}.",
                f"{base}/bsvc:Count[1]",
            )
        )
    entry_text = text(element, "As_Of_Entry_DateTime")
    as_of_entry = None if entry_text is None else _datetime(entry_text)
    if entry_text is not None and as_of_entry is None:
        issues.append(
            ValidationIssue(
                f"Invalid value for As_Of_Entry_DateTime: '{entry_text}'.",
                f"{base}/bsvc:As_Of_Entry_DateTime[1]",
            )
        )
    effective_text = text(element, "As_Of_Effective_Date")
    as_of_effective = None if effective_text is None else xsd_date_value(effective_text)
    if effective_text is not None and as_of_effective is None:
        issues.append(
            ValidationIssue(
                f"Invalid value for As_Of_Effective_Date: '{effective_text}'.",
                f"{base}/bsvc:As_Of_Effective_Date[1]",
            )
        )
    if issues:
        raise RequestInvalid(issues)
    assert page is not None and count is not None
    return ResponseFilter(page, count, as_of_entry, as_of_effective)


def response_group(request: etree._Element, operation: str, flags: Sequence[str]) -> dict[str, bool] | None:
    """The Response_Group flags (missing ones false); None when the request has no Response_Group."""
    element = request.find(f"{_WD}Response_Group")
    if element is None:
        return None
    values: dict[str, bool] = {}
    issues: list[ValidationIssue] = []
    for flag in flags:
        raw = (text(element, flag) or "false").strip()
        if raw not in ("true", "1", "false", "0"):
            xpath = f"/bsvc:{operation}_Request[1]/bsvc:Response_Group[1]/bsvc:{flag}[1]"
            issues.append(ValidationIssue(f"Invalid value for {flag}: '{raw}'.", xpath))
        values[flag] = raw in ("true", "1")
    if issues:
        raise RequestInvalid(issues)
    return values


def xsd_date_value(raw: str) -> date | None:
    """The calendar date of an xsd:date, which may carry a time zone (`2026-10-01-08:00`, `2026-10-01Z`)."""
    raw = raw.strip()
    try:
        day = date.fromisoformat(raw[:10])
    except ValueError:
        return None
    zone = raw[10:]
    if zone in ("", "Z") or (len(zone) == 6 and zone[0] in "+-" and zone[3] == ":"):
        return day
    return None


def _datetime(raw: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    # A date-time without an offset is in the tenant's time zone, as Workday reads it.
    return moment if moment.tzinfo else moment.replace(tzinfo=TENANT_TIMEZONE)


def _whole_number(raw: str | None, *, default: int, digits: int) -> int | None:
    """An xsd:decimal with no fraction, at most `digits` digits and not negative; None when it is not."""
    if raw is None:
        return default
    try:
        number = Decimal(raw.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0 or number != number.to_integral_value():
        return None
    whole = int(number)
    return whole if len(str(whole)) <= digits else None


# --- writing responses ----------------------------------------------------------------------------


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
    element = etree.Element(f"{_WD}{name}", nsmap=_WD_NSMAP)
    element.text = value
    return element


def container(name: str, children: Iterable[etree._Element]) -> etree._Element:
    """A standalone `wd:{name}` wrapping `children`."""
    element = etree.Element(f"{_WD}{name}", nsmap=_WD_NSMAP)
    element.extend(children)
    return element


def reference_element(
    name: str, ids: Iterable[tuple[str, str]], descriptor: str | None = None
) -> etree._Element:
    """A standalone `wd:{name}` reference with one `wd:ID` per (type, value)."""
    element = etree.Element(f"{_WD}{name}", nsmap=_WD_NSMAP)
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
    envelope = etree.Element(f"{_ENV}Envelope", nsmap={"env": SOAP_ENV_NS})
    body = etree.SubElement(envelope, f"{_ENV}Body")
    answer = etree.SubElement(body, f"{_WD}{operation}_Response", nsmap=_WD_NSMAP)
    answer.set(f"{_WD}version", version)
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
    etree.SubElement(answer, f"{_WD}Response_Data")
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
    root = etree.Element(f"{_WD}Customer", nsmap=_WD_NSMAP)
    if include_reference:
        _reference(root, "Customer_Reference", _customer_ids(customer), customer.name)
    if include_data:
        data = etree.SubElement(root, f"{_WD}Customer_Data")
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
        entity = etree.SubElement(data, f"{_WD}Business_Entity_Data")
        _text(entity, "Business_Entity_Name", customer.name)
        status = etree.SubElement(data, f"{_WD}Customer_Status_Data")
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
        balances = etree.SubElement(root, f"{_WD}Customer_Balance_Data")
        _currency_reference(balances, "Default_Currency_Reference", customer.currency)
        _text(balances, "Total_Balance", _decimal(balance[0]))
        _text(balances, "Overdue_Balance", _decimal(balance[1]))
    return _fragment(root)


@lru_cache(maxsize=FRAGMENT_CACHE_SIZE)
def payment_fragment(payment: SandboxPayment, customer: SandboxCustomer) -> bytes:
    """A `wd:Customer_Payment`; its data in Customer_Payment_for_Invoices_WWS_DataType order."""
    root = etree.Element(f"{_WD}Customer_Payment", nsmap=_WD_NSMAP)
    descriptor = f"Customer Payment: {payment.payment_number or payment.reference_id}"
    _reference(
        root,
        "Customer_Payment_Reference",
        [("WID", payment.wid), ("Customer_Payment_for_Invoices_Reference_ID", payment.reference_id)],
        descriptor,
    )
    data = etree.SubElement(root, f"{_WD}Customer_Payment_Data")
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
        advice = etree.SubElement(data, f"{_WD}Customer_Payment_Remittance_Advice_Data")
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
    _fill_reference(etree.SubElement(parent, f"{_WD}{name}"), ids, descriptor)


def _fill_reference(element: etree._Element, ids: Iterable[tuple[str, str]], descriptor: str | None) -> None:
    if descriptor is not None:
        element.set(f"{_WD}Descriptor", descriptor)
    for id_type, value in ids:
        identifier = etree.SubElement(element, f"{_WD}ID")
        identifier.set(f"{_WD}type", id_type)
        identifier.text = value


def _text(parent: etree._Element, name: str, value: str) -> None:
    etree.SubElement(parent, f"{_WD}{name}").text = value


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
    envelope = etree.Element(f"{_ENV}Envelope", nsmap={"SOAP-ENV": SOAP_ENV_NS})
    body = etree.SubElement(envelope, f"{_ENV}Body")
    fault = etree.SubElement(body, f"{_ENV}Fault", nsmap=_WD_NSMAP)
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = message
    if detail is not None:
        etree.SubElement(fault, "detail").append(detail)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
