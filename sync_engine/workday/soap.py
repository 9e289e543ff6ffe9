"""Workday Revenue_Management SOAP: response and fault parsers (pure: no I/O); the requests are built by
`soap_requests`.

Responses are read by namespace URI, never by prefix, and elements we do not need are ignored; the parser
is hardened (no entities, no network, no DTD).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from sync_engine.domain import Customer, Payment
from sync_engine.errors import WorkdayPermanentError, WorkdayTransientError
from sync_engine.workday.payers import payment_owner

__all__ = [
    "SOAP_NS",
    "WD_NS",
    "PaymentsPage",
    "ResponseResults",
    "SoapFault",
    "ValidationError",
    "parse_customers",
    "parse_fault",
    "parse_payments",
    "reference_index",
]

#: SOAP 1.1 envelope namespace.
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
#: Workday web services namespace.
WD_NS = "urn:com.workday/bsvc"

# A hardened parser: no entity expansion, no network, no DTD loading.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
# One Xpath step, `bsvc:Customer_Reference[2]` → ("Customer_Reference", "2").
_XPATH_STEP = re.compile(r"^(?:[\w.-]+:)?([\w.-]+)\[(\d+)\]$")


def wd(name: str) -> str:
    """An element or attribute name in Workday's namespace."""
    return f"{{{WD_NS}}}{name}"


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
    #: Payment WID → its remit-from customer (lowercase WID); None when it names none.
    remitters: dict[str, str | None]


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
    response = None if body is None else body.find(wd(name))
    if response is None:
        raise WorkdayPermanentError(f"Workday's {name} response has no {name} element in its SOAP body.")
    return response


def _text(element: etree._Element | None, *path: str) -> str | None:
    for name in path:
        if element is None:
            return None
        element = element.find(wd(name))
    if element is None or element.text is None:
        return None
    text = element.text.strip()
    return text or None


def _reference_id(reference: etree._Element | None, id_type: str) -> str | None:
    if reference is None:
        return None
    for element in reference.iterfind(wd("ID")):
        if element.get(wd("type"), element.get("type")) == id_type and element.text:
            return element.text.strip()
    return None


def _descriptor(reference: etree._Element | None) -> str | None:
    if reference is None:
        return None
    return reference.get(wd("Descriptor"), reference.get("Descriptor"))


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
    results = response.find(wd("Response_Results"))
    return ResponseResults(
        total_results=_whole(_text(results, "Total_Results")),
        total_pages=_whole(_text(results, "Total_Pages")),
        page_results=_whole(_text(results, "Page_Results")),
        page=_whole(_text(results, "Page")) or 1,
    )


def _customer(item: etree._Element) -> Customer:
    reference = item.find(wd("Customer_Reference"))
    data = item.find(wd("Customer_Data"))
    wid = _reference_id(reference, "WID")
    if wid is None:
        raise WorkdayPermanentError("Workday sent a customer without a WID in Get_Customers.")
    name = _text(data, "Customer_Name") or _text(data, "Business_Entity_Data", "Business_Entity_Name")
    status_reference = None
    if data is not None:
        status_reference = data.find(f"{wd('Customer_Status_Data')}/{wd('Customer_Status_Value_Reference')}")
    currency = _reference_id(data.find(wd("Currency_Reference")), "Currency_ID") if data is not None else None
    payer = None if data is None else _reference_id(data.find(wd("Remit-from_Customer_Reference")), "WID")
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
    return [_customer(item) for item in response.iterfind(f"{wd('Response_Data')}/{wd('Customer')}")]


def _payment(item: etree._Element) -> Payment:
    reference = item.find(wd("Customer_Payment_Reference"))
    data = item.find(wd("Customer_Payment_Data"))
    wid = _reference_id(reference, "WID")
    if wid is None or data is None:
        raise WorkdayPermanentError("Workday sent a customer payment without a WID or data.")
    amount = _decimal(_text(data, "Payment_Amount"), f"payment {wid} amount")
    currency = _reference_id(data.find(wd("Payment_Currency_Reference")), "Currency_ID")
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


def _remitter(item: etree._Element) -> str | None:
    data = item.find(wd("Customer_Payment_Data"))
    remit_from = (
        None if data is None else _reference_id(data.find(wd("Remit-from_Customer_Reference")), "WID")
    )
    return remit_from.lower() if remit_from else None


def _owner(item: etree._Element) -> str | None:
    """The customer a payment belongs to, from its remit-from customer and the bill-to customer of each
    line of its remittance advice (Customer_Payment_Remittance_Advice_Data)."""
    data = item.find(wd("Customer_Payment_Data"))
    if data is None:
        return None
    remit_from = _remitter(item)
    bill_to = [
        _reference_id(line.find(wd("Bill-to_Customer_Reference")), "WID")
        for line in data.iterfind(wd("Customer_Payment_Remittance_Advice_Data"))
    ]
    owner = payment_owner(remit_from, bill_to)
    return owner.lower() if owner else None


def parse_payments(content: bytes) -> PaymentsPage:
    """One page of a `Get_Customer_Payments` response."""
    response = _body_child(content, "Get_Customer_Payments_Response")
    items = list(response.iterfind(f"{wd('Response_Data')}/{wd('Customer_Payment')}"))
    payments = [_payment(item) for item in items]
    return PaymentsPage(
        payments=payments,
        results=_results(response),
        owners={payment.wid: _owner(item) for payment, item in zip(payments, items, strict=True)},
        remitters={payment.wid: _remitter(item) for payment, item in zip(payments, items, strict=True)},
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
        for error in fault.iterfind(f"detail/{wd('Validation_Fault')}/{wd('Validation_Error')}")
    )
    processing = fault.find(f"detail/{wd('Processing_Fault')}")
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
