"""SOAP request builders and response parsers of the Workday client (pure: no sockets)."""

# ruff: noqa: E501  (XML samples keep Workday's long lines)

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from sync_engine.domain import Customer
from sync_engine.errors import WorkdayPermanentError, WorkdayTransientError
from sync_engine.workday.soap import (
    SOAP_NS,
    WD_NS,
    parse_customers,
    parse_fault,
    parse_payments,
    reference_index,
)
from sync_engine.workday.soap_requests import build_get_customer_payments, build_get_customers

WD = f"{{{WD_NS}}}"

# Workday's shape (workday.md §2.6), with a prefix other than `wd`, extra elements and whitespace.
CUSTOMERS_RESPONSE = b"""<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>
 <bsvc:Get_Customers_Response xmlns:bsvc="urn:com.workday/bsvc" bsvc:version="v45.2">
  <bsvc:Request_References><bsvc:Customer_Reference><bsvc:ID bsvc:type="Customer_ID">CUST-000123</bsvc:ID>
  </bsvc:Customer_Reference></bsvc:Request_References>
  <bsvc:Response_Filter><bsvc:As_Of_Effective_Date>2026-11-26</bsvc:As_Of_Effective_Date>
    <bsvc:As_Of_Entry_DateTime>2026-11-26T10:00:00.000-08:00</bsvc:As_Of_Entry_DateTime>
    <bsvc:Page>1</bsvc:Page><bsvc:Count>100</bsvc:Count></bsvc:Response_Filter>
  <bsvc:Response_Results><bsvc:Total_Results>2</bsvc:Total_Results><bsvc:Total_Pages>1</bsvc:Total_Pages>
    <bsvc:Page_Results>2</bsvc:Page_Results><bsvc:Page>1</bsvc:Page></bsvc:Response_Results>
  <bsvc:Response_Data><bsvc:Customer>
   <bsvc:Customer_Reference bsvc:Descriptor="Acme &amp; &lt;Sons&gt;">
     <bsvc:ID bsvc:type="WID">3AE1F4B6C2D41001A1B2C3D4E5F60718</bsvc:ID>
     <bsvc:ID bsvc:type="Customer_ID">CUST-000123</bsvc:ID>
     <bsvc:ID bsvc:type="Customer_Reference_ID">001D0000010UbGVIA0</bsvc:ID></bsvc:Customer_Reference>
   <bsvc:Customer_Data>
     <bsvc:Customer_ID>CUST-000123</bsvc:Customer_ID>
     <bsvc:Customer_Reference_ID>001D0000010UbGVIA0</bsvc:Customer_Reference_ID>
     <bsvc:Customer_Name>Acme &amp; &lt;Sons&gt; ]]&gt;</bsvc:Customer_Name><bsvc:Worktag_Only>0</bsvc:Worktag_Only>
     <bsvc:Payment_Terms_Reference bsvc:Descriptor="Net 30"><bsvc:ID bsvc:type="Payment_Terms_ID">NET_30</bsvc:ID>
     </bsvc:Payment_Terms_Reference>
     <bsvc:Currency_Reference bsvc:Descriptor="USD"><bsvc:ID bsvc:type="WID">9e996ffdd3e14da0ba7275d5400bafd4</bsvc:ID>
       <bsvc:ID bsvc:type="Currency_ID">USD</bsvc:ID></bsvc:Currency_Reference>
     <bsvc:Customer_Status_Data><bsvc:Customer_Status_Value_Reference bsvc:Descriptor="Active">
       <bsvc:ID bsvc:type="Business_Entity_Status_Value_ID">ACTIVE</bsvc:ID></bsvc:Customer_Status_Value_Reference>
     </bsvc:Customer_Status_Data>
     <bsvc:Business_Entity_Data><bsvc:Business_Entity_Name>Acme</bsvc:Business_Entity_Name>
       <bsvc:Contact_Data><bsvc:Unknown_Future_Element>x</bsvc:Unknown_Future_Element></bsvc:Contact_Data>
     </bsvc:Business_Entity_Data>
   </bsvc:Customer_Data>
   <bsvc:Customer_Balance_Data><bsvc:Default_Currency_Reference><bsvc:ID bsvc:type="Currency_ID">USD</bsvc:ID>
     </bsvc:Default_Currency_Reference>
     <bsvc:Total_Balance>1250.10</bsvc:Total_Balance><bsvc:Overdue_Balance>0</bsvc:Overdue_Balance>
   </bsvc:Customer_Balance_Data>
  </bsvc:Customer>
  <bsvc:Customer>
   <bsvc:Customer_Reference bsvc:Descriptor="Beta"><bsvc:ID bsvc:type="WID">00000000000000000000000000000002</bsvc:ID>
   </bsvc:Customer_Reference>
   <bsvc:Customer_Data><bsvc:Customer_ID>C-2</bsvc:Customer_ID><bsvc:Customer_Name>Beta</bsvc:Customer_Name>
   </bsvc:Customer_Data>
  </bsvc:Customer></bsvc:Response_Data>
 </bsvc:Get_Customers_Response></env:Body></env:Envelope>"""

PAYMENTS_RESPONSE = b"""<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>
 <wd:Get_Customer_Payments_Response xmlns:wd="urn:com.workday/bsvc" wd:version="v45.2">
  <wd:Request_Criteria><wd:Remit-from_Customer_Reference><wd:ID wd:type="WID">3ae1f4b6c2d41001a1b2c3d4e5f60718</wd:ID>
  </wd:Remit-from_Customer_Reference></wd:Request_Criteria>
  <wd:Response_Filter><wd:As_Of_Effective_Date>2026-11-26-08:00</wd:As_Of_Effective_Date>
   <wd:As_Of_Entry_DateTime>2026-11-26T10:00:00.123-08:00</wd:As_Of_Entry_DateTime>
   <wd:Page>2</wd:Page><wd:Count>999</wd:Count></wd:Response_Filter>
  <wd:Response_Results><wd:Total_Results>1000</wd:Total_Results><wd:Total_Pages>2</wd:Total_Pages>
   <wd:Page_Results>1</wd:Page_Results><wd:Page>2</wd:Page></wd:Response_Results>
  <wd:Response_Data><wd:Customer_Payment>
   <wd:Customer_Payment_Reference wd:Descriptor="Customer Payment: PAY-000001">
    <wd:ID wd:type="WID">a1b2c3d4e5f60718293a4b5c6d7e8f90</wd:ID>
    <wd:ID wd:type="Customer_Payment_for_Invoices_Reference_ID">CUSTOMER_PAYMENT-6-1</wd:ID>
   </wd:Customer_Payment_Reference>
   <wd:Customer_Payment_Data>
    <wd:Customer_Payment_for_Invoices_Reference_ID>CUSTOMER_PAYMENT-6-1</wd:Customer_Payment_for_Invoices_Reference_ID>
    <wd:Locked_in_Workday>1</wd:Locked_in_Workday>
    <wd:Company_Reference><wd:ID wd:type="Company_Reference_ID">ACME_US</wd:ID></wd:Company_Reference>
    <wd:Payment_Currency_Reference><wd:ID wd:type="WID">9e996ffdd3e14da0ba7275d5400bafd4</wd:ID>
     <wd:ID wd:type="Currency_ID">EUR</wd:ID><wd:ID wd:type="Currency_Numeric_Code">978</wd:ID>
    </wd:Payment_Currency_Reference>
    <wd:Payment_Date>2026-10-01-08:00</wd:Payment_Date>
    <wd:Payment_Type_Reference><wd:ID wd:type="Payment_Type_ID">Check</wd:ID></wd:Payment_Type_Reference>
    <wd:Payment_Status>Complete</wd:Payment_Status>
    <wd:Cancel_Accounting_Date>2026-10-02</wd:Cancel_Accounting_Date>
    <wd:Payment_Application_Status>Partially Applied</wd:Payment_Application_Status>
    <wd:Payment_Number>PAY-000001</wd:Payment_Number>
    <wd:Payment_Amount>123456789012.10</wd:Payment_Amount>
    <wd:Remit-from_Customer_Reference><wd:ID wd:type="WID">3ae1f4b6c2d41001a1b2c3d4e5f60718</wd:ID>
    </wd:Remit-from_Customer_Reference>
    <wd:Check_Number>100023</wd:Check_Number>
    <wd:Payment_Memo>Thanks &amp; &lt;regards&gt;</wd:Payment_Memo>
   </wd:Customer_Payment_Data>
  </wd:Customer_Payment></wd:Response_Data>
 </wd:Get_Customer_Payments_Response></SOAP-ENV:Body></SOAP-ENV:Envelope>"""

EMPTY_PAYMENTS_RESPONSE = b"""<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>
 <wd:Get_Customer_Payments_Response xmlns:wd="urn:com.workday/bsvc">
  <wd:Response_Results><wd:Total_Results>0</wd:Total_Results><wd:Total_Pages>0</wd:Total_Pages>
   <wd:Page_Results>0</wd:Page_Results><wd:Page>1</wd:Page></wd:Response_Results>
  <wd:Response_Data/>
 </wd:Get_Customer_Payments_Response></env:Body></env:Envelope>"""

# workday.md §2.7 with two bad references.
VALIDATION_FAULT = b"""<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>
 <SOAP-ENV:Fault xmlns:wd="urn:com.workday/bsvc">
  <faultcode>SOAP-ENV:Client.validationError</faultcode>
  <faultstring>Validation error occurred. Invalid ID value.  'CUST-999' is not a valid ID value for type = 'Customer_ID'</faultstring>
  <detail><wd:Validation_Fault><wd:Validation_Error>
    <wd:Message>Invalid ID value. 'CUST-999' is not a valid ID value for type = 'Customer_ID'</wd:Message>
    <wd:Detail_Message>Invalid ID value. 'CUST-999' is not a valid ID value for type = 'Customer_ID'</wd:Detail_Message>
    <wd:Xpath>/bsvc:Get_Customers_Request[1]/bsvc:Request_References[1]/bsvc:Customer_Reference[2]</wd:Xpath>
  </wd:Validation_Error><wd:Validation_Error>
    <wd:Message>Invalid ID value. 'A&amp;B' is not a valid ID value for type = 'Customer_ID'</wd:Message>
    <wd:Detail_Message>Invalid ID value. 'A&amp;B' is not a valid ID value for type = 'Customer_ID'</wd:Detail_Message>
    <wd:Xpath>/bsvc:Get_Customers_Request[1]/bsvc:Request_References[1]/bsvc:Customer_Reference[5]</wd:Xpath>
  </wd:Validation_Error></wd:Validation_Fault></detail>
 </SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"""

AUTH_FAULT = b"""<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>
 <SOAP-ENV:Fault><faultcode>SOAP-ENV:Client.authenticationError</faultcode>
 <faultstring>invalid username or password</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"""

NOT_AUTHORIZED_FAULT = b"""<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
 <soapenv:Fault xmlns:wd="urn:com.workday/bsvc"><faultcode>soapenv:Server.processingError</faultcode>
 <faultstring>Processing error occurred. The task submitted is not authorized.</faultstring>
 <detail><wd:Processing_Fault><wd:Detail_Message>Processing error occurred. The task submitted is not authorized.
 </wd:Detail_Message></wd:Processing_Fault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"""

# Every XML hazard we can think of, as identifiers a user might paste.
NASTY = [
    "A&B",
    "<script>",
    "]]>",
    "<![CDATA[x]]>",
    "'\"",
    '</wd:ID><wd:ID wd:type="WID">3ae1f4b6c2d41001a1b2c3d4e5f60718',
    "</wd:Customer_Reference></wd:Request_References><wd:Response_Filter><wd:Count>999</wd:Count>",
    "&lt;already-escaped&gt;",
    "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>&e;",
    "Société 東京 \u00a0 tab\there",
]


def _request(envelope: bytes) -> etree._Element:
    root = etree.fromstring(envelope)
    assert root.tag == f"{{{SOAP_NS}}}Envelope"
    body = root.find(f"{{{SOAP_NS}}}Body")
    assert body is not None and len(body) == 1
    return body[0]


# --- requests ---------------------------------------------------------------------------------------


def test_get_customers_request_carries_each_reference_with_its_id_type() -> None:
    references = [
        ("WID", "3ae1f4b6c2d41001a1b2c3d4e5f60718"),
        ("Customer_ID", "CUST-1"),
        ("Customer_ID", "C-2"),
    ]

    request = _request(build_get_customers(references, "v45.2"))

    assert request.tag == f"{WD}Get_Customers_Request"
    assert request.get(f"{WD}version") == "v45.2"
    ids = request.findall(f"{WD}Request_References/{WD}Customer_Reference/{WD}ID")
    assert [(i.get(f"{WD}type"), i.text) for i in ids] == references
    assert request.findtext(f"{WD}Response_Filter/{WD}Page") == "1"
    assert request.findtext(f"{WD}Response_Filter/{WD}Count") == "3"
    group = request.find(f"{WD}Response_Group")
    assert group is not None
    assert {child.tag.removeprefix(WD): child.text for child in group} == {
        "Include_Reference": "1",
        "Include_Customer_Data": "1",
        "Include_Customer_Balance": "1",
    }


def test_identifiers_cannot_alter_the_request() -> None:
    references = [("Customer_ID", value) for value in NASTY]

    envelope = build_get_customers(references, "v45.2")
    request = _request(envelope)

    # Same structure as with harmless values: one ID per reference, nothing injected, text round-trips.
    references_elements = request.findall(f"{WD}Request_References/{WD}Customer_Reference")
    assert len(references_elements) == len(NASTY)
    for element, value in zip(references_elements, NASTY, strict=True):
        assert len(element) == 1
        assert element[0].get(f"{WD}type") == "Customer_ID"
        assert element[0].text == value
    assert request.findtext(f"{WD}Response_Filter/{WD}Count") == str(len(NASTY))
    assert len(request.findall(f".//{WD}Response_Filter")) == 1
    assert b"<!DOCTYPE" not in envelope and b"<script>" not in envelope and b"<![CDATA[" not in envelope


def test_payments_request_names_the_customer_and_pins_its_page() -> None:
    request = _request(
        build_get_customer_payments(
            ["3ae1f4b6c2d41001a1b2c3d4e5f60718"],
            "v45.2",
            page=2,
            count=999,
            as_of_entry="2026-11-26T10:00:00.123-08:00",
        )
    )

    assert request.tag == f"{WD}Get_Customer_Payments_Request"
    assert request.get(f"{WD}version") == "v45.2"
    remit = request.find(f"{WD}Request_Criteria/{WD}Remit-from_Customer_Reference/{WD}ID")
    assert remit is not None and remit.get(f"{WD}type") == "WID"
    assert remit.text == "3ae1f4b6c2d41001a1b2c3d4e5f60718"
    response_filter = request.find(f"{WD}Response_Filter")
    assert response_filter is not None
    # WSDL order: As_Of_Effective_Date?, As_Of_Entry_DateTime?, Page?, Count?
    assert [(c.tag.removeprefix(WD), c.text) for c in response_filter] == [
        ("As_Of_Entry_DateTime", "2026-11-26T10:00:00.123-08:00"),
        ("Page", "2"),
        ("Count", "999"),
    ]
    assert request.find(f"{WD}Response_Group") is None


@pytest.mark.parametrize("size", [0, 1000])
def test_get_customers_refuses_an_impossible_count(size: int) -> None:
    with pytest.raises(ValueError):
        build_get_customers([("Customer_ID", "C")] * size, "v45.2")


# --- responses --------------------------------------------------------------------------------------


def test_customers_are_read_by_namespace_whatever_the_prefix() -> None:
    customers = parse_customers(CUSTOMERS_RESPONSE)

    assert customers == [
        Customer(
            wid="3ae1f4b6c2d41001a1b2c3d4e5f60718",
            customer_id="CUST-000123",
            customer_reference_id="001D0000010UbGVIA0",
            name="Acme & <Sons> ]]>",
            currency="USD",
            status="Active",
            total_balance=Decimal("1250.10"),
        ),
        Customer(
            wid="00000000000000000000000000000002",
            customer_id="C-2",
            customer_reference_id=None,
            name="Beta",
            currency=None,
            status=None,
            total_balance=None,
        ),
    ]
    assert str(customers[0].total_balance) == "1250.10"


def test_payments_page_keeps_dates_and_amounts() -> None:
    page = parse_payments(PAYMENTS_RESPONSE)

    assert page.results.total_results == 1000
    assert page.results.total_pages == 2
    assert page.results.page == 2
    [payment] = page.payments
    assert payment.wid == "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    assert payment.payment_reference_id == "CUSTOMER_PAYMENT-6-1"
    assert payment.payment_number == "PAY-000001"
    # The calendar day as written, whatever the offset.
    assert payment.payment_date == date(2026, 10, 1)
    assert payment.amount == Decimal("123456789012.10") and str(payment.amount) == "123456789012.10"
    assert payment.currency == "EUR"
    assert payment.payment_status == "Complete"
    assert payment.check_number == "100023"
    assert payment.memo == "Thanks & <regards>"


def test_an_empty_payments_result_has_no_pages() -> None:
    page = parse_payments(EMPTY_PAYMENTS_RESPONSE)
    assert page.payments == []
    assert page.results.total_pages == 0


def test_garbled_responses_are_transient_and_wrong_ones_permanent() -> None:
    with pytest.raises(WorkdayTransientError, match="unreadable"):
        parse_customers(b"<env:Envelope xmlns:env='http://schemas.xmlsoap.org/soap/envelope/'><env:Bo")
    with pytest.raises(WorkdayPermanentError, match="Get_Customers_Response"):
        parse_customers(PAYMENTS_RESPONSE)


def test_entities_are_never_expanded() -> None:
    hostile = CUSTOMERS_RESPONSE.replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/hostname'>]>",
    ).replace(b"<bsvc:Customer_Name>Beta", b"<bsvc:Customer_Name>&e;Beta")

    customers = parse_customers(hostile)

    assert customers[1].name == "Beta"


# --- faults -----------------------------------------------------------------------------------------


def test_validation_fault_lists_every_bad_reference() -> None:
    fault = parse_fault(VALIDATION_FAULT)

    assert fault is not None
    assert fault.code == "Client.validationError"
    assert fault.is_validation and fault.is_client and not fault.is_authentication
    assert fault.string.startswith("Validation error occurred. Invalid ID value.")
    assert [reference_index(e.xpath, "Customer_Reference") for e in fault.validation_errors] == [2, 5]
    assert (
        fault.validation_errors[1].message
        == "Invalid ID value. 'A&B' is not a valid ID value for type = 'Customer_ID'"
    )


def test_authentication_and_permission_faults() -> None:
    auth = parse_fault(AUTH_FAULT)
    assert auth is not None and auth.is_authentication and not auth.not_authorized

    denied = parse_fault(NOT_AUTHORIZED_FAULT)
    assert denied is not None
    assert denied.code == "Server.processingError"
    assert denied.is_processing and denied.not_authorized and not denied.is_client
    assert denied.processing_message is not None and "not authorized" in denied.processing_message


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>500 Internal Server Error</body></html>",
        b"",
        b"not xml at all",
        PAYMENTS_RESPONSE,
    ],
)
def test_what_is_not_a_soap_fault(body: bytes) -> None:
    assert parse_fault(body) is None


@pytest.mark.parametrize(
    ("xpath", "index"),
    [
        ("/bsvc:Get_Customers_Request[1]/bsvc:Request_References[1]/bsvc:Customer_Reference[17]", 17),
        ("/wd:Get_Customers_Request[1]/wd:Request_References[1]/wd:Customer_Reference[3]/wd:ID[1]", 3),
        ("/Get_Customers_Request[1]/Request_References[1]/Customer_Reference[1]", 1),
        ("/bsvc:Get_Customers_Request[1]/bsvc:Response_Filter[1]/bsvc:Count[1]", None),
        ("/bsvc:Get_Customers_Request[1]/bsvc:Request_References[1]/bsvc:Customer_Reference", None),
        ("", None),
        (None, None),
    ],
)
def test_reference_index(xpath: str | None, index: int | None) -> None:
    assert reference_index(xpath, "Customer_Reference") == index


def test_remit_from_reference_index() -> None:
    xpath = (
        "/bsvc:Get_Customer_Payments_Request[1]/bsvc:Request_Criteria[1]"
        "/bsvc:Remit-from_Customer_Reference[1]"
    )
    assert reference_index(xpath, "Remit-from_Customer_Reference") == 1
