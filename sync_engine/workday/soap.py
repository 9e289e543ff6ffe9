"""Workday Revenue_Management SOAP: request builders and response parsers (pure: no I/O).

Requests are built element by element with lxml, so every identifier is a text node: `<`, `&`, `]]>` or
markup in an identifier is escaped by the serializer and can never change the request's structure.
Responses are read by namespace URI, never by prefix, and elements we do not need are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from sync_engine.domain import Customer, Payment
from sync_engine.errors import WorkdayPermanentError, WorkdayTransientError
from sync_engine.workday.payers import payment_owner

__all__ = [
    "PROBE_CUSTOMER_ID",
    "SOAP_NS",
    "WD_NS",
    "PaymentsPage",
    "ResponseResults",
    "SoapFault",
    "ValidationError",
    "build_get_customer_payments",
    "build_get_customers",
    "build_probe",
    "parse_customers",
    "parse_fault",
    "parse_payments",
    "reference_index",
]

#: SOAP 1.1 envelope namespace.
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
#: Workday web services namespace.
WD_NS = "urn:com.workday/bsvc"

_NSMAP = {"env": SOAP_NS, "wd": WD_NS}
# A hardened parser: no entity expansion, no network, no DTD loading.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
# One Xpath step, `bsvc:Customer_Reference[2]` → ("Customer_Reference", "2").
_XPATH_STEP = re.compile(r"^(?:[\w.-]+:)?([\w.-]+)\[(\d+)\]$")


def _wd(name: str) -> str:
    return f"{{{WD_NS}}}{name}"


# --------------------------------------------------------------------------------------------------------
# Requests


def _envelope(request: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap=_NSMAP)
    etree.SubElement(envelope, f"{{{SOAP_NS}}}Body").append(request)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _wd(name))
    if text is not None:
        element.text = text
    return element


def _reference(parent: etree._Element, name: str, id_type: str, value: str) -> None:
    _sub(_sub(parent, name), "ID", value).set(_wd("type"), id_type)


def build_get_customers(references: Sequence[tuple[str, str]], version: str) -> bytes:
    """A `Get_Customers` request for `(ID type, value)` references, all in one page (Count = their number)."""
    if not 1 <= len(references) <= 999:
        raise ValueError(f"Get_Customers takes 1 to 999 references, not {len(references)}")
    request = etree.Element(_wd("Get_Customers_Request"), nsmap={"wd": WD_NS})
    request.set(_wd("version"), version)
    container = _sub(request, "Request_References")
    for id_type, value in references:
        _reference(container, "Customer_Reference", id_type, value)
    response_filter = _sub(request, "Response_Filter")
    _sub(response_filter, "Page", "1")
    _sub(response_filter, "Count", str(len(references)))
    group = _sub(request, "Response_Group")
    for flag in ("Include_Reference", "Include_Customer_Data", "Include_Customer_Balance"):
        _sub(group, flag, "1")
    return _envelope(request)


def build_get_customer_payments(
    customer_wid: str, version: str, *, page: int, count: int, as_of_entry: str
) -> bytes:
    """One page of a `Get_Customer_Payments` request for the payments the customer remitted, as of
    `as_of_entry` (every page, the first included: Workday requires it with Page)."""
    request = etree.Element(_wd("Get_Customer_Payments_Request"), nsmap={"wd": WD_NS})
    request.set(_wd("version"), version)
    criteria = _sub(request, "Request_Criteria")
    _reference(criteria, "Remit-from_Customer_Reference", "WID", customer_wid)
    response_filter = _sub(request, "Response_Filter")
    _sub(response_filter, "As_Of_Entry_DateTime", as_of_entry)
    _sub(response_filter, "Page", str(page))
    _sub(response_filter, "Count", str(count))
    return _envelope(request)


#: The Customer_ID a connection check asks for: a criterion (not a reference), so no such customer is an
#: empty answer rather than a fault.
PROBE_CUSTOMER_ID = "workday-resync-connection-check"


def build_probe(operation: str, version: str, day: date) -> bytes:
    """The cheapest request of a Get operation: the narrowest criteria it takes (one Customer_ID, or the
    payments of one day), page 1 of one item, references only. Workday builds a query's whole result set
    on page 1, so a probe without criteria would cost a read of the whole tenant. It proves the
    integration user may call the operation (Workday checks that first)."""
    request = etree.Element(_wd(f"{operation}_Request"), nsmap={"wd": WD_NS})
    request.set(_wd("version"), version)
    criteria = _sub(request, "Request_Criteria")
    if operation == "Get_Customers":
        _sub(criteria, "Customer_ID", PROBE_CUSTOMER_ID)
    else:
        _sub(criteria, "Payment_Date_On_or_After", day.isoformat())
        _sub(criteria, "Payment_Date_On_or_Before", day.isoformat())
    response_filter = _sub(request, "Response_Filter")
    _sub(response_filter, "Page", "1")
    _sub(response_filter, "Count", "1")
    if operation == "Get_Customers":  # the only one of ours with data groups to leave out
        _sub(_sub(request, "Response_Group"), "Include_Reference", "1")
    return _envelope(request)


# --------------------------------------------------------------------------------------------------------
# Responses


@dataclass(frozen=True, slots=True)
class ResponseResults:
    total_results: int
    total_pages: int
    page_results: int
    page: int


@dataclass(frozen=True, slots=True)
class PaymentsPage:
    payments: list[Payment]
    results: ResponseResults
    #: Payment WID → the customer it belongs to (`payers.payment_owner`); None when the payment names
    #: neither a remit-from customer nor a single bill-to customer.
    owners: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class ValidationError:
    message: str | None
    detail_message: str | None
    xpath: str | None


@dataclass(frozen=True, slots=True)
class SoapFault:
    """A parsed SOAP fault: `faultcode` without its prefix (e.g. `Client.validationError`)."""

    code: str
    string: str
    validation_errors: tuple[ValidationError, ...] = ()
    #: `Processing_Fault/Detail_Message`, when the fault carries one.
    processing_message: str | None = None

    @property
    def is_client(self) -> bool:
        return self.code.startswith("Client")

    @property
    def is_authentication(self) -> bool:
        return self.code == "Client.authenticationError"

    @property
    def is_validation(self) -> bool:
        return self.code == "Client.validationError"

    @property
    def is_processing(self) -> bool:
        return self.code == "Server.processingError" or self.processing_message is not None

    @property
    def not_authorized(self) -> bool:
        text = f"{self.string} {self.processing_message or ''}".lower()
        return self.is_processing and "not authorized" in text

    def describe(self) -> str:
        """`code: faultstring` for an error message."""
        return f"{self.code}: {self.string}"


def _parse(content: bytes, what: str) -> etree._Element:
    try:
        return etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as error:
        # A cut-off or garbled body: the same request may well succeed again.
        raise WorkdayTransientError(f"Workday returned an unreadable {what} response ({error}).") from None


def _body_child(content: bytes, name: str) -> etree._Element:
    root = _parse(content, name)
    body = root.find(f"{{{SOAP_NS}}}Body")
    response = None if body is None else body.find(_wd(name))
    if response is None:
        raise WorkdayPermanentError(f"Workday's {name} response has no {name} element in its SOAP body.")
    return response


def _text(element: etree._Element | None, *path: str) -> str | None:
    for name in path:
        if element is None:
            return None
        element = element.find(_wd(name))
    if element is None or element.text is None:
        return None
    text = element.text.strip()
    return text or None


def _reference_id(reference: etree._Element | None, id_type: str) -> str | None:
    if reference is None:
        return None
    for element in reference.iterfind(_wd("ID")):
        if element.get(_wd("type"), element.get("type")) == id_type and element.text:
            return element.text.strip()
    return None


def _descriptor(reference: etree._Element | None) -> str | None:
    if reference is None:
        return None
    return reference.get(_wd("Descriptor"), reference.get("Descriptor"))


def _decimal(value: str | None, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise WorkdayPermanentError(f"Workday sent {what} {value!r}, which is not a decimal.") from None


def _date(value: str | None, what: str) -> date | None:
    """An xsd:date keeps its calendar day; Workday appends an offset (`2026-10-01-08:00`)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise WorkdayPermanentError(f"Workday sent {what} {value!r}, which is not a date.") from None


def _whole(value: str | None) -> int:
    number = _decimal(value, "a page count")
    return 0 if number is None else int(number)


def _results(response: etree._Element) -> ResponseResults:
    results = response.find(_wd("Response_Results"))
    return ResponseResults(
        total_results=_whole(_text(results, "Total_Results")),
        total_pages=_whole(_text(results, "Total_Pages")),
        page_results=_whole(_text(results, "Page_Results")),
        page=_whole(_text(results, "Page")) or 1,
    )


def _customer(item: etree._Element) -> Customer:
    reference = item.find(_wd("Customer_Reference"))
    data = item.find(_wd("Customer_Data"))
    wid = _reference_id(reference, "WID")
    if wid is None:
        raise WorkdayPermanentError("Workday sent a customer without a WID in Get_Customers.")
    name = _text(data, "Customer_Name") or _text(data, "Business_Entity_Data", "Business_Entity_Name")
    status_reference = None
    if data is not None:
        status_reference = data.find(
            f"{_wd('Customer_Status_Data')}/{_wd('Customer_Status_Value_Reference')}"
        )
    currency = (
        _reference_id(data.find(_wd("Currency_Reference")), "Currency_ID") if data is not None else None
    )
    payer = None if data is None else _reference_id(data.find(_wd("Remit-from_Customer_Reference")), "WID")
    return Customer(
        wid=wid.lower(),
        customer_id=_text(data, "Customer_ID") or _reference_id(reference, "Customer_ID"),
        customer_reference_id=(
            _text(data, "Customer_Reference_ID") or _reference_id(reference, "Customer_Reference_ID")
        ),
        name=name or _descriptor(reference) or "",
        currency=currency,
        status=_descriptor(status_reference)
        or _reference_id(status_reference, "Business_Entity_Status_Value_ID"),
        total_balance=_decimal(_text(item, "Customer_Balance_Data", "Total_Balance"), "a customer balance"),
        payer_wid=payer.lower() if payer else None,
    )


def parse_customers(content: bytes) -> list[Customer]:
    """The customers of a `Get_Customers` response, in response order."""
    response = _body_child(content, "Get_Customers_Response")
    return [_customer(item) for item in response.iterfind(f"{_wd('Response_Data')}/{_wd('Customer')}")]


def _payment(item: etree._Element) -> Payment:
    reference = item.find(_wd("Customer_Payment_Reference"))
    data = item.find(_wd("Customer_Payment_Data"))
    wid = _reference_id(reference, "WID")
    if wid is None or data is None:
        raise WorkdayPermanentError("Workday sent a customer payment without a WID or data.")
    amount = _decimal(_text(data, "Payment_Amount"), f"payment {wid} amount")
    currency = _reference_id(data.find(_wd("Payment_Currency_Reference")), "Currency_ID")
    if amount is None or currency is None:
        raise WorkdayPermanentError(f"Workday sent customer payment {wid} without an amount or currency.")
    return Payment(
        wid=wid.lower(),
        payment_reference_id=(
            _text(data, "Customer_Payment_for_Invoices_Reference_ID")
            or _reference_id(reference, "Customer_Payment_for_Invoices_Reference_ID")
        ),
        payment_number=_text(data, "Payment_Number"),
        payment_date=_date(_text(data, "Payment_Date"), f"payment {wid} date"),
        amount=amount,
        currency=currency,
        payment_status=_text(data, "Payment_Status"),
        check_number=_text(data, "Check_Number"),
        memo=_text(data, "Payment_Memo"),
    )


def _owner(item: etree._Element) -> str | None:
    """The customer a payment belongs to, from its remit-from customer and the bill-to customer of each
    line of its remittance advice (Customer_Payment_Remittance_Advice_Data)."""
    data = item.find(_wd("Customer_Payment_Data"))
    if data is None:
        return None
    remit_from = _reference_id(data.find(_wd("Remit-from_Customer_Reference")), "WID")
    bill_to = [
        _reference_id(line.find(_wd("Bill-to_Customer_Reference")), "WID")
        for line in data.iterfind(_wd("Customer_Payment_Remittance_Advice_Data"))
    ]
    owner = payment_owner(remit_from, bill_to)
    return owner.lower() if owner else None


def parse_payments(content: bytes) -> PaymentsPage:
    """One page of a `Get_Customer_Payments` response."""
    response = _body_child(content, "Get_Customer_Payments_Response")
    items = list(response.iterfind(f"{_wd('Response_Data')}/{_wd('Customer_Payment')}"))
    payments = [_payment(item) for item in items]
    return PaymentsPage(
        payments=payments,
        results=_results(response),
        owners={payment.wid: _owner(item) for payment, item in zip(payments, items, strict=True)},
    )


def parse_fault(content: bytes) -> SoapFault | None:
    """The SOAP fault in a response body, or None when the body is not a SOAP fault (e.g. an HTML page)."""
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError:
        return None
    fault = root.find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
    if fault is None:
        return None
    code = fault.findtext("faultcode") or ""
    errors = tuple(
        ValidationError(
            message=_text(error, "Message"),
            detail_message=_text(error, "Detail_Message"),
            xpath=_text(error, "Xpath"),
        )
        for error in fault.iterfind(f"detail/{_wd('Validation_Fault')}/{_wd('Validation_Error')}")
    )
    processing = fault.find(f"detail/{_wd('Processing_Fault')}")
    return SoapFault(
        code=code.strip().rpartition(":")[2],
        string=(fault.findtext("faultstring") or "").strip(),
        validation_errors=errors,
        processing_message=None if processing is None else (_text(processing, "Detail_Message") or ""),
    )


def reference_index(xpath: str | None, element: str) -> int | None:
    """The 1-based index of `element` in an Xpath such as
    `/bsvc:Get_Customers_Request[1]/bsvc:Request_References[1]/bsvc:Customer_Reference[2]` (→ 2), or None
    when the Xpath has no such step."""
    index = None
    for step in (xpath or "").strip().split("/"):
        match = _XPATH_STEP.match(step)
        if match is not None and match.group(1) == element:
            index = int(match.group(2))
    return index
