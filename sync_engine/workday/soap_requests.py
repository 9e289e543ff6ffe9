"""Workday Revenue_Management SOAP requests, built element by element with lxml (pure: no I/O).

Every identifier is a text node: `<`, `&`, `]]>` or markup in an identifier is escaped by the serializer and
can never change the request's structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from lxml import etree

from sync_engine.workday.soap import SOAP_NS, WD_NS, wd

__all__ = ["PROBE_CUSTOMER_ID", "build_get_customer_payments", "build_get_customers", "build_probe"]

_NSMAP = {"env": SOAP_NS, "wd": WD_NS}


def _envelope(request: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap=_NSMAP)
    etree.SubElement(envelope, f"{{{SOAP_NS}}}Body").append(request)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, wd(name))
    if text is not None:
        element.text = text
    return element


def _reference(parent: etree._Element, name: str, id_type: str, value: str) -> None:
    _sub(_sub(parent, name), "ID", value).set(wd("type"), id_type)


def build_get_customers(references: Sequence[tuple[str, str]], version: str) -> bytes:
    """A `Get_Customers` request for `(ID type, value)` references, all in one page (Count = their number)."""
    if not 1 <= len(references) <= 999:
        raise ValueError(f"Get_Customers takes 1 to 999 references, not {len(references)}")
    request = etree.Element(wd("Get_Customers_Request"), nsmap={"wd": WD_NS})
    request.set(wd("version"), version)
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
    remitter_wids: Sequence[str], version: str, *, page: int, count: int, as_of_entry: str
) -> bytes:
    """One page of a `Get_Customer_Payments` request for the payments the customers remitted (one
    `Remit-from_Customer_Reference` each: the criterion is 0..n), as of `as_of_entry` (every page, the
    first included: Workday requires it with Page)."""
    if not remitter_wids:
        raise ValueError("Get_Customer_Payments without a remitter would list every payment of the tenant")
    request = etree.Element(wd("Get_Customer_Payments_Request"), nsmap={"wd": WD_NS})
    request.set(wd("version"), version)
    criteria = _sub(request, "Request_Criteria")
    for wid in remitter_wids:
        _reference(criteria, "Remit-from_Customer_Reference", "WID", wid)
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
    request = etree.Element(wd(f"{operation}_Request"), nsmap={"wd": WD_NS})
    request.set(wd("version"), version)
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
