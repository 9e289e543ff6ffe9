"""SOAP of the sandbox, reading (pure): a Revenue_Management request's envelope, references and filters.

Requests are parsed with no DTDs, entities or network; every rule the schema or Workday sets on a field
becomes a `ValidationIssue`, and all issues of a request one `RequestInvalid` (one validation fault).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from lxml import etree

from sync_engine.workday.sandbox.catalog import TENANT_TIMEZONE
from sync_engine.workday.sandbox.locales import LOCALES, FaultTexts

__all__ = [
    "DEFAULT_COUNT",
    "ENV",
    "MAX_COUNT",
    "SOAP_ENV_NS",
    "SUPPORTED_VERSIONS",
    "WD",
    "WD_NS",
    "Reference",
    "RequestInvalid",
    "ResponseFilter",
    "SoapRequestError",
    "ValidationIssue",
    "child",
    "invalid_id",
    "operation_name",
    "parse_request",
    "references",
    "request_version",
    "response_filter",
    "response_group",
    "text",
    "xsd_date_value",
]

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WD_NS = "urn:com.workday/bsvc"
#: The namespaces as lxml spells a tag in them (`f"{WD}Customer"`).
ENV = f"{{{SOAP_ENV_NS}}}"
WD = f"{{{WD_NS}}}"

#: API versions this tenant answers.
SUPPORTED_VERSIONS = frozenset({"v44.0", "v44.1", "v44.2", "v45.0", "v45.1", "v45.2"})
_V = TypeVar("_V")
#: Response_Filter/Count bounds (Workday: "Set a value between 1 and 999. The default value is 100.").
DEFAULT_COUNT = 100
MAX_COUNT = 999


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
    if root.tag != f"{ENV}Envelope":
        raise SoapRequestError("The request is not a SOAP 1.1 Envelope.")
    body_element = root.find(f"{ENV}Body")
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
    return request.get(f"{WD}version")


def child(element: etree._Element, name: str) -> etree._Element | None:
    """The child `wd:{name}`, if any."""
    return element.find(f"{WD}{name}")


def text(element: etree._Element, name: str) -> str | None:
    """Text of the child `wd:{name}`; None when absent."""
    child = element.find(f"{WD}{name}")
    return None if child is None else child.text or ""


def references(request: etree._Element, operation: str, container_name: str, name: str) -> list[Reference]:
    """Every `container_name/name` reference of the request, in order."""
    found: list[Reference] = []
    for block_index, block in enumerate(request.findall(f"{WD}{container_name}"), start=1):
        for index, reference in enumerate(block.findall(f"{WD}{name}"), start=1):
            identifier = reference.find(f"{WD}ID")
            id_type = "" if identifier is None else identifier.get(f"{WD}type", "")
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
    element = request.find(f"{WD}Response_Filter")
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
    as_of_entry = _optional(element, "As_Of_Entry_DateTime", _datetime, base, issues)
    as_of_effective = _optional(element, "As_Of_Effective_Date", xsd_date_value, base, issues)
    if issues:
        raise RequestInvalid(issues)
    assert page is not None and count is not None
    return ResponseFilter(page, count, as_of_entry, as_of_effective)


def response_group(request: etree._Element, operation: str, flags: Sequence[str]) -> dict[str, bool] | None:
    """The Response_Group flags (missing ones false); None when the request has no Response_Group."""
    element = request.find(f"{WD}Response_Group")
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


def _optional(
    element: etree._Element,
    name: str,
    parse: Callable[[str], _V | None],
    base: str,
    issues: list[ValidationIssue],
) -> _V | None:
    """The child `name` parsed, or None when absent; an issue naming it when it does not parse."""
    raw = text(element, name)
    value = None if raw is None else parse(raw)
    if raw is not None and value is None:
        issues.append(ValidationIssue(f"Invalid value for {name}: '{raw}'.", f"{base}/bsvc:{name}[1]"))
    return value


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
