"""The sandbox on real sockets, driven with plain httpx: the wire shapes a Workday tenant gives.

Requests are built with lxml and responses read by namespace, exactly as a careful client would, but this is
deliberately not our client: these tests pin the sandbox to the wire contract on their own.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from lxml import etree

from sync_engine.domain import CreditNote, Customer, CustomerSnapshot, Invoice, Payment
from sync_engine.workday.sandbox import Sandbox, SandboxData

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WD = "urn:com.workday/bsvc"
NS = {"env": ENV, "wd": WD}


def w(name: str) -> str:
    return f"{{{WD}}}{name}"


@pytest.fixture
def sandbox_data() -> SandboxData:
    return SandboxData.generate(customers=30, seed=7)


def grant(http: httpx.Client, sandbox: Sandbox, refresh_token: str | None = None) -> httpx.Response:
    return http.post(
        f"/ccx/oauth2/{sandbox.tenant}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token or sandbox.refresh_token},
        auth=(sandbox.client_id, sandbox.client_secret),
    )


@pytest.fixture
def token(http: httpx.Client, sandbox: Sandbox) -> str:
    return str(grant(http, sandbox).json()["access_token"])


def envelope(request: etree._Element) -> bytes:
    root = etree.Element(f"{{{ENV}}}Envelope", nsmap={"soapenv": ENV, "bsvc": WD})
    etree.SubElement(root, f"{{{ENV}}}Body").append(request)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, w(name))
    element.text = text
    return element


def reference(parent: etree._Element, name: str, id_type: str, value: str) -> None:
    sub(sub(parent, name), "ID", value).set(w("type"), id_type)


def get_customers(
    references: Sequence[tuple[str, str]], *, page: str | None = None, count: str | None = None
) -> bytes:
    request = etree.Element(w("Get_Customers_Request"), nsmap={"bsvc": WD})
    request.set(w("version"), "v45.2")
    block = sub(request, "Request_References")
    for id_type, value in references:
        reference(block, "Customer_Reference", id_type, value)
    if page is not None or count is not None:
        response_filter = sub(request, "Response_Filter")
        if page is not None:
            sub(response_filter, "Page", page)
        if count is not None:
            sub(response_filter, "Count", count)
    group = sub(request, "Response_Group")
    for flag in ("Include_Reference", "Include_Customer_Data", "Include_Customer_Balance"):
        sub(group, flag, "true")
    return envelope(request)


def get_payments(customer_wid: str, *, page: int = 1, count: int = 999, as_of: str | None = None) -> bytes:
    request = etree.Element(w("Get_Customer_Payments_Request"), nsmap={"bsvc": WD})
    request.set(w("version"), "v45.2")
    reference(sub(request, "Request_Criteria"), "Remit-from_Customer_Reference", "WID", customer_wid)
    response_filter = sub(request, "Response_Filter")
    if as_of is not None:
        sub(response_filter, "As_Of_Entry_DateTime", as_of)
    sub(response_filter, "Page", str(page))
    sub(response_filter, "Count", str(count))
    return envelope(request)


def soap(
    http: httpx.Client, sandbox: Sandbox, token: str, body: bytes, version: str = "v45.2"
) -> tuple[httpx.Response, etree._Element]:
    response = http.post(
        f"/ccx/service/{sandbox.tenant}/Revenue_Management/{version}",
        content=body,
        headers={"Content-Type": "text/xml; charset=utf-8", "Authorization": f"Bearer {token}"},
    )
    return response, etree.fromstring(response.content)


def fault(root: etree._Element) -> tuple[str, str, list[tuple[str, str]]]:
    """(faultcode, faultstring, [(Message, Xpath)])."""
    element = root.find("env:Body/env:Fault", NS)
    assert element is not None
    errors = [
        (error.findtext("wd:Message", namespaces=NS) or "", error.findtext("wd:Xpath", namespaces=NS) or "")
        for error in element.iterfind("detail/wd:Validation_Fault/wd:Validation_Error", NS)
    ]
    return element.findtext("faultcode") or "", element.findtext("faultstring") or "", errors


def invoices(http: httpx.Client, sandbox: Sandbox, token: str | None, **params: str | int) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.get(f"/ccx/api/customerAccounts/v1/{sandbox.tenant}/invoices", params=params, headers=headers)


# --- OAuth ------------------------------------------------------------------------------------------------


def test_refresh_token_grant(http: httpx.Client, sandbox: Sandbox) -> None:
    response = grant(http, sandbox)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert isinstance(body["access_token"], str) and "refresh_token" not in body


def test_bad_client_credentials_are_invalid_client(http: httpx.Client, sandbox: Sandbox) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": sandbox.refresh_token}
    wrong = http.post(f"/ccx/oauth2/{sandbox.tenant}/token", data=form, auth=(sandbox.client_id, "nope"))
    missing = http.post(f"/ccx/oauth2/{sandbox.tenant}/token", data=form)

    assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid_client"})
    assert (missing.status_code, missing.json()) == (401, {"error": "invalid_client"})


def test_unknown_or_revoked_refresh_token_is_invalid_grant(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    unknown = grant(http, sandbox, refresh_token="not-a-token")
    sandbox.knobs.revoked = True
    revoked = grant(http, sandbox)
    rejected_rest = invoices(http, sandbox, token, billToCustomer=sandbox.data.customer_wids[0])
    _, rejected_soap = soap(http, sandbox, token, get_customers([("Customer_ID", "C-000001")]))

    assert (unknown.status_code, unknown.json()) == (400, {"error": "invalid_grant"})
    assert (revoked.status_code, revoked.json()) == (400, {"error": "invalid_grant"})
    assert (rejected_rest.status_code, rejected_rest.json()) == (401, {"error": "invalid_token"})
    assert fault(rejected_soap)[:2] == ("SOAP-ENV:Client.authenticationError", "invalid username or password")


def test_rotated_refresh_token_keeps_working_for_the_grace_period(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    sandbox.knobs.rotate_refresh_tokens = True
    sandbox.knobs.rotation_grace = 0.5
    first = sandbox.refresh_token

    rotated = grant(http, sandbox).json()["refresh_token"]
    within_grace = grant(http, sandbox, refresh_token=first)
    time.sleep(0.6)
    after_grace = grant(http, sandbox, refresh_token=first)

    assert rotated != first
    assert within_grace.status_code == 200
    assert (after_grace.status_code, after_grace.json()) == (400, {"error": "invalid_grant"})
    assert grant(http, sandbox, refresh_token=sandbox.refresh_token).status_code == 200


def test_expired_access_token_is_refused_on_both_apis(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.knobs.token_lifetime = 0.3
    response = grant(http, sandbox)
    short_lived = response.json()["access_token"]
    assert response.json()["expires_in"] == 1
    time.sleep(0.4)

    rest = invoices(http, sandbox, short_lived, billToCustomer=sandbox.data.customer_wids[0])
    status, root = soap(http, sandbox, short_lived, get_customers([("Customer_ID", "C-000001")]))

    assert (rest.status_code, rest.json()) == (401, {"error": "invalid_token"})
    assert status.status_code == 500
    assert fault(root)[:2] == ("SOAP-ENV:Client.authenticationError", "invalid username or password")


def test_unknown_tenant_answers_as_workday_does_never_with_a_fault_or_token(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    token = http.post("/ccx/oauth2/other_tenant/token", data={"grant_type": "refresh_token"})
    soap = http.post("/ccx/service/other_tenant/Revenue_Management/v45.2", content=b"<x/>")
    rest = http.get("/ccx/api/customerAccounts/v1/other_tenant/invoices")

    assert (token.status_code, token.text) == (503, "<html><body>503 Service Unavailable</body></html>")
    assert (soap.status_code, soap.text) == (500, "<html><body>500 Internal Server Error</body></html>")
    assert (rest.status_code, rest.text) == (404, "<html><body>Not Found</body></html>")
    for response in (token, soap, rest):
        assert response.headers["content-type"].startswith("text/html")


# --- Get_Customers ----------------------------------------------------------------------------------------


def test_get_customers_by_each_id_type_round_trips_special_characters(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    data = sandbox.data
    smith, acme = data.customers[0], data.customers[1]
    with_reference = next(c for c in data.customers if c.customer_reference_id)
    references = [
        ("WID", smith.wid.upper()),
        ("Customer_ID", acme.customer_id or ""),
        ("Customer_Reference_ID", with_reference.customer_reference_id or ""),
    ]

    response, root = soap(http, sandbox, token, get_customers(references))

    assert response.status_code == 200
    assert root.tag == f"{{{ENV}}}Envelope" and root.prefix == "env"
    answer = root.find("env:Body/wd:Get_Customers_Response", NS)
    assert answer is not None and answer.prefix == "wd" and answer.get(w("version")) == "v45.2"
    items = answer.findall("wd:Response_Data/wd:Customer", NS)
    names = [item.findtext("wd:Customer_Data/wd:Customer_Name", namespaces=NS) for item in items]
    assert names == [smith.name, acme.name, with_reference.name]
    assert names[:2] == ["Smith & Sons", '<Acme> "Intl"']
    first = items[0]
    ref = first.find("wd:Customer_Reference", NS)
    assert ref is not None and ref.get(w("Descriptor")) == "Smith & Sons"
    ids = {element.get(w("type")): element.text for element in ref.iterfind("wd:ID", NS)}
    assert ids["WID"] == smith.wid and ids["Customer_ID"] == smith.customer_id
    assert first.findtext("wd:Customer_Data/wd:Worktag_Only", namespaces=NS) == "0"
    status = first.find("wd:Customer_Data/wd:Customer_Status_Data/wd:Customer_Status_Value_Reference", NS)
    assert status is not None and status.get(w("Descriptor")) == "Active"
    currency = first.find("wd:Customer_Data/wd:Currency_Reference/wd:ID[@wd:type='Currency_ID']", NS)
    assert currency is not None and currency.text == smith.currency
    balance = first.findtext("wd:Customer_Balance_Data/wd:Total_Balance", namespaces=NS)
    assert balance == str(smith.total_balance)
    echoed = answer.find("wd:Response_Filter", NS)
    assert echoed is not None
    as_of = echoed.findtext("wd:As_Of_Entry_DateTime", namespaces=NS) or ""
    assert as_of.endswith("-08:00") and datetime.fromisoformat(as_of).tzinfo is not None
    assert (echoed.findtext("wd:As_Of_Effective_Date", namespaces=NS) or "").endswith("-08:00")
    assert len(answer.findall("wd:Request_References/wd:Customer_Reference", NS)) == 3
    results = answer.find("wd:Response_Results", NS)
    assert results is not None
    assert [child.text for child in results] == ["3", "1", "3", "1"]


def test_bad_references_fail_the_whole_call_with_one_error_each(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    good = sandbox.data.customers[2]
    references = [
        ("Customer_ID", good.customer_id or ""),
        ("Customer_ID", "CUST-999"),
        ("WID", good.wid),
        ("WID", "f" * 32),
        ("Salesforce_ID", "001XYZ"),
        ("Customer_ID", "a<b & c]]>"),
    ]

    response, root = soap(http, sandbox, token, get_customers(references))

    assert response.status_code == 500
    code, string, errors = fault(root)
    assert code == "SOAP-ENV:Client.validationError"
    assert string == (
        "Validation error occurred. Invalid ID value.  'CUST-999' is not a valid ID value "
        "for type = 'Customer_ID'"
    )
    base = "/bsvc:Get_Customers_Request[1]/bsvc:Request_References[1]/bsvc:Customer_Reference"
    assert [xpath for _, xpath in errors] == [f"{base}[2]", f"{base}[4]", f"{base}[5]", f"{base}[6]"]
    assert errors[0][0] == "Invalid ID value. 'CUST-999' is not a valid ID value for type = 'Customer_ID'"
    assert errors[3][0] == "Invalid ID value. 'a<b & c]]>' is not a valid ID value for type = 'Customer_ID'"
    assert root.find(".//wd:Response_Data", NS) is None
    logged = sandbox.stats.log[-1]
    assert (logged.operation, logged.outcome) == ("Get_Customers", "fault")
    assert ("WID", "f" * 32) in logged.references and len(logged.references) == 6


@pytest.mark.parametrize(
    ("page", "count", "message"),
    [
        ("0", None, "Page Number cannot be zero."),
        (None, "1000", "Invalid value for Count: '1000'. Set a value between 1 and 999."),
        (None, "0", "Invalid value for Count: '0'. Set a value between 1 and 999."),
        ("x", None, "Invalid value for Page: 'x'."),
    ],
)
def test_response_filter_is_validated(
    http: httpx.Client, sandbox: Sandbox, token: str, page: str | None, count: str | None, message: str
) -> None:
    body = get_customers([("Customer_ID", "C-000001")], page=page, count=count)

    response, root = soap(http, sandbox, token, body)

    assert response.status_code == 500
    code, string, errors = fault(root)
    assert code == "SOAP-ENV:Client.validationError" and string == f"Validation error occurred. {message}"
    assert errors[0][0] == message


def test_customers_page_by_count(http: httpx.Client, sandbox: Sandbox, token: str) -> None:
    references = [("Customer_ID", customer.customer_id or "") for customer in sandbox.data.customers[:5]]

    _, root = soap(http, sandbox, token, get_customers(references, page="2", count="2"))

    ids = root.xpath("//wd:Customer_Data/wd:Customer_ID/text()", namespaces=NS)
    assert ids == ["C-000003", "C-000004"]
    assert root.xpath("//wd:Response_Results/wd:Total_Pages/text()", namespaces=NS) == ["3"]


def test_unsupported_version_and_operations(http: httpx.Client, sandbox: Sandbox, token: str) -> None:
    _, old_version = soap(http, sandbox, token, get_customers([("Customer_ID", "C-000001")]), version="v30.0")
    request = etree.Element(w("Get_Customer_Invoices_Request"), nsmap={"bsvc": WD})
    request.set(w("version"), "v45.2")
    response, not_implemented = soap(http, sandbox, token, envelope(request))

    assert fault(old_version)[:2] == (
        "SOAP-ENV:Client.validationError",
        "The web service or version is invalid for the requested operation",
    )
    assert response.status_code == 500
    assert fault(not_implemented)[:2] == (
        "SOAP-ENV:Server.processingError",
        "Processing error occurred. Get_Customer_Invoices is not implemented in sandbox.",
    )


# --- Get_Customer_Payments --------------------------------------------------------------------------------


def payment_wids(root: etree._Element) -> list[str]:
    return root.xpath(
        "//wd:Customer_Payment/wd:Customer_Payment_Reference/wd:ID[@wd:type='WID']/text()", namespaces=NS
    )


def test_pinned_payment_pages_stay_consistent_while_data_changes(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    data = sandbox.data
    customer = data.big_customer_wid
    expected = [payment.wid for payment in data.snapshot(customer).payments]
    assert len(expected) == 600

    _, first = soap(http, sandbox, token, get_payments(customer, page=1, count=250))
    as_of = first.findtext("env:Body/*/wd:Response_Filter/wd:As_Of_Entry_DateTime", namespaces=NS)
    assert as_of is not None
    added = data.add_payment(customer, amount=Decimal("1.00"))
    data.delete_document(expected[300])
    _, second = soap(http, sandbox, token, get_payments(customer, page=2, count=250, as_of=as_of))
    _, third = soap(http, sandbox, token, get_payments(customer, page=3, count=250, as_of=as_of))
    _, fresh = soap(http, sandbox, token, get_payments(customer, page=3, count=250))

    pages = [first, second, third]
    assert payment_wids(first) + payment_wids(second) + payment_wids(third) == expected
    for number, page in enumerate(pages, start=1):
        results = page.xpath("//wd:Response_Results/*/text()", namespaces=NS)
        assert results == ["600", "3", "250" if number < 3 else "100", str(number)]
        assert page.findtext("env:Body/*/wd:Response_Filter/wd:As_Of_Entry_DateTime", namespaces=NS) == as_of
    assert added in payment_wids(fresh) and expected[300] not in payment_wids(fresh)
    assert fresh.xpath("//wd:Response_Results/wd:Total_Results/text()", namespaces=NS) == ["600"]
    assert [entry.detail.split()[0] for entry in sandbox.stats.log if entry.operation != "token"] == [
        "page=1",
        "page=2",
        "page=3",
        "page=3",
    ]


def test_payment_fields_and_exact_amounts(http: httpx.Client, sandbox: Sandbox, token: str) -> None:
    data = sandbox.data
    yen = next(c for c in data.customers if c.currency == "JPY")
    dinar = next(c for c in data.customers if c.currency == "KWD")
    usd = data.customers[0]
    big = data.add_payment(
        usd.wid, amount=Decimal("123456789012.34"), memo='<a href="x">&</a>', payment_number=None
    )
    data.add_payment(yen.wid, amount=Decimal("1200"))
    data.add_payment(dinar.wid, amount=Decimal("1.25"))

    _, root = soap(http, sandbox, token, get_payments(usd.wid))
    item = next(
        element
        for element in root.iterfind(".//wd:Customer_Payment", NS)
        if element.findtext("wd:Customer_Payment_Reference/wd:ID", namespaces=NS) == big
    )
    payment_data = item.find("wd:Customer_Payment_Data", NS)
    assert payment_data is not None
    names = [etree.QName(child).localname for child in payment_data]
    assert names[:11] == [
        "Customer_Payment_for_Invoices_Reference_ID",
        "Locked_in_Workday",
        "Company_Reference",
        "Payment_Currency_Reference",
        "Payment_Date",
        "Payment_Type_Reference",
        "Payment_Status",
        "Payment_Application_Status",
        "Payment_Amount",
        "Remit-from_Customer_Reference",
        "Check_Number",
    ]
    assert payment_data.findtext("wd:Payment_Amount", namespaces=NS) == "123456789012.34"
    assert payment_data.findtext("wd:Payment_Memo", namespaces=NS) == '<a href="x">&</a>'
    tenant_today = datetime.now(timezone(timedelta(hours=-8))).date()
    assert payment_data.findtext("wd:Payment_Date", namespaces=NS) == f"{tenant_today.isoformat()}-08:00"
    amounts = {
        customer.currency: soap(http, sandbox, token, get_payments(customer.wid))[1].xpath(
            "//wd:Payment_Amount/text()", namespaces=NS
        )[-1]
        for customer in (yen, dinar)
    }
    assert amounts == {"JPY": "1200", "KWD": "1.250"}


def test_payments_of_an_unknown_customer_is_a_validation_fault(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    response, root = soap(http, sandbox, token, get_payments("0" * 32))

    assert response.status_code == 500
    _, _, errors = fault(root)
    assert errors == [
        (
            f"Invalid ID value. '{'0' * 32}' is not a valid ID value for type = 'WID'",
            "/bsvc:Get_Customer_Payments_Request[1]/bsvc:Request_Criteria[1]/bsvc:Remit-from_Customer_Reference[1]",
        )
    ]


# --- REST invoices ----------------------------------------------------------------------------------------


def test_limit_above_100_is_rejected(http: httpx.Client, sandbox: Sandbox, token: str) -> None:
    customer = sandbox.data.big_customer_wid
    for limit in (101, 0, "x"):
        response = invoices(http, sandbox, token, billToCustomer=customer, limit=limit)
        assert (response.status_code, response.json()) == (400, {"error": "limit must be between 1 and 100"})
    assert len(invoices(http, sandbox, token, billToCustomer=customer).json()["data"]) == 20


def test_invoice_pages_add_up_to_the_customer_documents(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    customer = sandbox.data.big_customer_wid
    invoice_count, _, credit_count = sandbox.data.counts(customer)
    items: list[dict[str, object]] = []
    totals = set()
    offset = 0
    while True:
        page = json.loads(
            invoices(http, sandbox, token, billToCustomer=customer, limit=100, offset=offset).content,
            parse_float=Decimal,
        )
        totals.add(page["total"])
        items += page["data"]
        offset += 100
        if offset >= page["total"]:
            break

    assert totals == {invoice_count + credit_count} and invoice_count == 1200
    assert len({item["id"] for item in items}) == len(items) == invoice_count + credit_count
    kinds = [item["transactionType"] for item in items]
    assert kinds.count("Invoice") == invoice_count and kinds.count("Adjustment") == credit_count
    adjustment = next(
        item for item in items if item["transactionType"] == "Adjustment" and item["relatedInvoice"]
    )
    assert isinstance(adjustment["totalAmount"], dict) and adjustment["totalAmount"]["value"] < 0
    assert adjustment["href"] == (
        f"{sandbox.base_url}/ccx/api/customerAccounts/v1/{sandbox.tenant}/invoices/{adjustment['id']}"
    )
    beyond = invoices(http, sandbox, token, billToCustomer=customer, limit=100, offset=offset).json()
    assert beyond == {"total": invoice_count + credit_count, "data": []}


def test_rest_amounts_are_exact_json_numbers(http: httpx.Client, sandbox: Sandbox, token: str) -> None:
    customer = sandbox.data.customers[1].wid
    sandbox.data.add_invoice(customer, total_amount=Decimal("1200.10"), tax_amount=Decimal("200.00"))
    sandbox.data.add_invoice(customer, total_amount=Decimal("123456789012.34"))
    invoice_count, _, credit_count = sandbox.data.counts(customer)

    # Added documents come last in the tenant's order.
    last = invoice_count + credit_count - 2
    raw = invoices(http, sandbox, token, billToCustomer=customer, limit=2, offset=last).text

    assert '"totalAmount":{"value":1200.10,"currency":"USD"}' in raw
    assert '"netAmount":{"value":1000.10,"currency":"USD"}' in raw
    assert '"value":123456789012.34,' in raw
    values = [item["totalAmount"]["value"] for item in json.loads(raw, parse_float=Decimal)["data"]]
    assert Decimal("123456789012.34") in values


def test_rest_needs_a_bearer_and_permission(http: httpx.Client, sandbox: Sandbox, token: str) -> None:
    customer = sandbox.data.customer_wids[0]
    missing = invoices(http, sandbox, None, billToCustomer=customer)
    sandbox.knobs.unauthorized_operations.add("invoices")
    forbidden = invoices(http, sandbox, token, billToCustomer=customer)
    unknown = invoices(http, sandbox, "bogus", billToCustomer=customer)

    assert (missing.status_code, missing.json()) == (401, {"error": "invalid_token"})
    assert (forbidden.status_code, forbidden.json()) == (
        403,
        {"error": "The task submitted is not authorized."},
    )
    assert unknown.status_code == 401


# --- the expectation API agrees with the wire ---------------------------------------------------------------


def wire_snapshot(http: httpx.Client, sandbox: Sandbox, token: str, wid: str) -> CustomerSnapshot:
    """What a client following the wire contract reads for one customer."""
    _, root = soap(http, sandbox, token, get_customers([("WID", wid)]))
    item = root.find(".//wd:Customer", NS)
    assert item is not None

    def text(element: etree._Element, path: str) -> str | None:
        return element.findtext(path, namespaces=NS)

    def ref_id(element: etree._Element, path: str, id_type: str) -> str | None:
        found = element.find(f"{path}/wd:ID[@wd:type='{id_type}']", NS)
        return None if found is None else found.text

    status = item.find("wd:Customer_Data/wd:Customer_Status_Data/wd:Customer_Status_Value_Reference", NS)
    customer = Customer(
        wid=ref_id(item, "wd:Customer_Reference", "WID") or "",
        customer_id=text(item, "wd:Customer_Data/wd:Customer_ID"),
        customer_reference_id=text(item, "wd:Customer_Data/wd:Customer_Reference_ID"),
        name=text(item, "wd:Customer_Data/wd:Customer_Name") or "",
        currency=ref_id(item, "wd:Customer_Data/wd:Currency_Reference", "Currency_ID"),
        status=None if status is None else status.get(w("Descriptor")),
        total_balance=Decimal(text(item, "wd:Customer_Balance_Data/wd:Total_Balance") or "NaN"),
    )
    payments = []
    for element in soap(http, sandbox, token, get_payments(wid))[1].iterfind(".//wd:Customer_Payment", NS):
        data = element.find("wd:Customer_Payment_Data", NS)
        assert data is not None
        payments.append(
            Payment(
                wid=ref_id(element, "wd:Customer_Payment_Reference", "WID") or "",
                payment_reference_id=text(data, "wd:Customer_Payment_for_Invoices_Reference_ID"),
                payment_number=text(data, "wd:Payment_Number"),
                payment_date=date.fromisoformat((text(data, "wd:Payment_Date") or "")[:10]),
                amount=Decimal(text(data, "wd:Payment_Amount") or "NaN"),
                currency=ref_id(data, "wd:Payment_Currency_Reference", "Currency_ID") or "",
                payment_status=text(data, "wd:Payment_Status"),
                check_number=text(data, "wd:Check_Number"),
                memo=text(data, "wd:Payment_Memo"),
            )
        )
    rows = json.loads(
        invoices(http, sandbox, token, billToCustomer=wid, limit=100).content, parse_float=Decimal
    )
    assert rows["total"] <= 100
    invoice_rows = [row for row in rows["data"] if row["transactionType"] == "Invoice"]
    credit_rows = [row for row in rows["data"] if row["transactionType"] == "Adjustment"]
    return CustomerSnapshot(
        customer=customer,
        invoices=[
            Invoice(
                wid=row["id"],
                invoice_number=row["invoiceNumber"],
                invoice_date=date.fromisoformat(row["invoiceDate"]),
                due_date=date.fromisoformat(row["dueDate"]),
                total_amount=Decimal(row["totalAmount"]["value"]),
                tax_amount=Decimal(row["taxAmount"]["value"]),
                due_amount=Decimal(row["dueAmount"]["value"]),
                currency=row["currency"]["descriptor"],
                invoice_status=row["invoiceStatus"]["descriptor"],
                payment_status=row["paymentStatus"]["descriptor"],
            )
            for row in invoice_rows
        ],
        credit_notes=[
            CreditNote(
                wid=row["id"],
                credit_note_number=row["invoiceNumber"],
                credit_note_date=date.fromisoformat(row["invoiceDate"]),
                total_amount=Decimal(row["totalAmount"]["value"]),
                due_amount=Decimal(row["dueAmount"]["value"]),
                currency=row["currency"]["descriptor"],
                invoice_status=row["invoiceStatus"]["descriptor"],
                payment_status=row["paymentStatus"]["descriptor"],
                related_invoice_wid=row["relatedInvoice"]["id"] if row["relatedInvoice"] else None,
            )
            for row in credit_rows
        ],
        payments=payments,
        fetched_at=sandbox.data.snapshot(wid).fetched_at,
    )


def test_snapshot_is_exactly_what_the_wire_carries(http: httpx.Client, sandbox: Sandbox, token: str) -> None:
    data = sandbox.data
    small = [wid for wid in data.customer_wids[1:] if sum(data.counts(wid)) > 0 and data.counts(wid)[0] < 80]
    changed = small[0]
    invoice = data.add_invoice(changed, total_amount=Decimal("77.70"))
    data.update_document(invoice, invoice_status="In Progress", due_amount=Decimal("7"))
    data.update_customer(changed, name="Renamed <&> Ltd")

    for wid in small[:6]:
        assert wire_snapshot(http, sandbox, token, wid) == data.snapshot(wid)
    assert data.customer(changed).name == "Renamed <&> Ltd"


# --- hostile input ------------------------------------------------------------------------------------------


def test_hostile_requests_get_faults_and_the_server_keeps_serving(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/xml"}
    url = f"/ccx/service/{sandbox.tenant}/Revenue_Management/v45.2"
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        b"<x>&lol2;</x></soapenv:Body></soapenv:Envelope>"
    )
    for body in (laughs, b"\xff\xfe garbage <<<", b"", b"<a><b></a>", b"<Envelope/>", b"<x>" * 100_000):
        response = http.post(url, content=body, headers=headers)
        assert response.status_code == 500
        assert fault(etree.fromstring(response.content))[0] == "SOAP-ENV:Client.validationError"
        assert b"Traceback" not in response.content

    too_big = http.post(url, content=b"<" * (10 * 1024 * 1024 + 1), headers=headers)
    assert too_big.status_code == 413
    assert http.put(url, content=b"x").status_code == 501
    assert http.get(url).status_code == 405

    raw = socket.create_connection(("127.0.0.1", int(sandbox.base_url.rsplit(":", 1)[1])))
    raw.sendall(b"POST " + url.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
    assert raw.recv(100).startswith(b"HTTP/1.1 400")
    raw.close()
    assert soap(http, sandbox, token, get_customers([("Customer_ID", "C-000001")]))[0].status_code == 200


def test_keep_alive_serves_many_requests_on_one_connection(sandbox: Sandbox, token: str) -> None:
    customer = sandbox.data.customer_wids[0]
    path = f"/ccx/api/customerAccounts/v1/{sandbox.tenant}/invoices?billToCustomer={customer}"
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode() * 3
    with socket.create_connection(("127.0.0.1", int(sandbox.base_url.rsplit(":", 1)[1]))) as raw:
        raw.sendall(request)
        received = b""
        deadline = time.monotonic() + 5
        while received.count(b"HTTP/1.1 200") < 3 and time.monotonic() < deadline:
            received += raw.recv(65536)

    assert received.count(b"HTTP/1.1 200 OK") == 3
    assert b"Connection: close" not in received


def test_a_later_page_without_an_as_of_is_refused_when_the_knob_says_so(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    sandbox.knobs.require_as_of_on_pages = True
    sandbox.knobs.omit_response_filter = True
    wid = sandbox.data.big_customer_wid
    first, root = soap(http, sandbox, token, get_payments(wid, page=1, count=2))
    assert first.status_code == 200
    assert root.find("env:Body/*/wd:Response_Filter", NS) is None
    response, root = soap(http, sandbox, token, get_payments(wid, page=2, count=2))
    assert response.status_code == 500
    code, _, errors = fault(root)
    assert code == "SOAP-ENV:Client.validationError"
    assert errors == [("As_Of_Entry_DateTime is required with Page.", errors[0][1])]
    pinned, _ = soap(http, sandbox, token, get_payments(wid, page=2, count=2, as_of="2026-01-01T00:00:00Z"))
    assert pinned.status_code == 200
