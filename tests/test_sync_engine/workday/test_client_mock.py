"""The Workday client against scripted answers (`httpx.MockTransport`): what the sandbox does not do,
such as faults whose Xpath cannot be mapped, 5xx gateways and `Server.*` faults."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import httpx
import pytest
from lxml import etree
from pydantic import SecretStr

from sync_engine.domain import Customer, IdentifierType
from sync_engine.errors import WorkdayConfigurationError, WorkdayPermanentError, WorkdayTransientError
from sync_engine.settings import WorkdaySettings
from sync_engine.workday import RetryPolicy, WorkdayClient
from sync_engine.workday.soap import WD_NS

WD = f"{{{WD_NS}}}"
SETTINGS = WorkdaySettings(
    base_url="https://wd.example",
    tenant="acme",
    client_id="id",
    client_secret=SecretStr("secret"),
    refresh_token=SecretStr("refresh"),
    api_version="v45.2",
    reference_id_type="Customer_ID",
    max_in_flight=2,
    rate_limit=1000.0,
    timeout=5.0,
)
RETRY = RetryPolicy(attempts=4, initial_wait=0.001, max_wait=0.002)

Handler = Callable[[httpx.Request], httpx.Response]


def envelope(inner: str) -> bytes:
    return (
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wd="urn:com.workday/bsvc">'
        f"<env:Body>{inner}</env:Body></env:Envelope>"
    ).encode()


def fault(code: str, text: str, errors: Sequence[tuple[str, str]] = ()) -> bytes:
    detail = "".join(
        f"<wd:Validation_Error><wd:Message>{message}</wd:Message><wd:Xpath>{xpath}</wd:Xpath></wd:Validation_Error>"
        for message, xpath in errors
    )
    return envelope(
        f"<env:Fault><faultcode>env:{code}</faultcode><faultstring>{text}</faultstring>"
        f"<detail><wd:Validation_Fault>{detail}</wd:Validation_Fault></detail></env:Fault>"
    )


def customers_response(values: list[str]) -> bytes:
    items = "".join(
        f'<wd:Customer><wd:Customer_Reference><wd:ID wd:type="WID">{index:032x}</wd:ID>'
        f"</wd:Customer_Reference><wd:Customer_Data><wd:Customer_ID>{value}</wd:Customer_ID>"
        f"<wd:Customer_Name>N {value}</wd:Customer_Name></wd:Customer_Data></wd:Customer>"
        for index, value in enumerate(values, 1)
    )
    return envelope(
        f"<wd:Get_Customers_Response><wd:Response_Data>{items}</wd:Response_Data></wd:Get_Customers_Response>"
    )


def sent_references(request: httpx.Request) -> list[str]:
    root = etree.fromstring(request.content)
    return [element.text or "" for element in root.iter(f"{WD}ID")]


def client_with(handler: Handler) -> WorkdayClient:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "at", "expires_in": 3600})
        return handler(request)

    return WorkdayClient(SETTINGS, transport=httpx.MockTransport(route), retry=RETRY)


@pytest.mark.parametrize("xpath", ["", "/bsvc:Get_Customers_Request[1]", "…Customer_Reference[99]"])
def test_unmappable_faults_are_bisected_without_repeating_a_set(xpath: str) -> None:
    invalid = {"BAD-3", "BAD-6"}
    sent: list[frozenset[str]] = []

    def workday(request: httpx.Request) -> httpx.Response:
        values = sent_references(request)
        sent.append(frozenset(values))
        bad = [value for value in values if value in invalid]
        if bad:
            errors = [(f"Invalid ID value. '{value}' is not a valid ID value", xpath) for value in bad]
            return httpx.Response(500, content=fault("Client.validationError", "Invalid ID value.", errors))
        return httpx.Response(200, content=customers_response(values))

    identifiers = [f"C-{n}" if f"BAD-{n}" not in invalid else f"BAD-{n}" for n in range(1, 9)]
    with client_with(workday) as client:
        resolution = client.resolve_customers(identifiers, IdentifierType.REFERENCE)

    assert resolution.unresolved == ["BAD-3", "BAD-6"]
    assert list(resolution.found) == [i for i in identifiers if i not in invalid]
    assert resolution.found["C-7"].name == "N C-7"
    assert len(sent) == len(set(sent))
    assert len(sent) <= 1 + 2 * 2 * 3  # a bisection, not one call per reference


def test_an_xpath_contradicting_its_message_is_not_trusted() -> None:
    sent: list[list[str]] = []

    def workday(request: httpx.Request) -> httpx.Response:
        values = sent_references(request)
        sent.append(values)
        if "BAD" in values:
            # Names position 1 (C-1), but the message quotes BAD: do not drop C-1.
            errors = [("Invalid ID value. 'BAD' is not a valid ID value", "/x/Customer_Reference[1]")]
            return httpx.Response(500, content=fault("Client.validationError", "Invalid ID value.", errors))
        return httpx.Response(200, content=customers_response(values))

    with client_with(workday) as client:
        resolution = client.resolve_customers(["C-1", "BAD"], IdentifierType.REFERENCE)

    assert list(resolution.found) == ["C-1"]
    assert resolution.unresolved == ["BAD"]
    assert sent == [["C-1", "BAD"], ["C-1"], ["BAD"]]


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(502, text="Bad Gateway"),
        httpx.Response(503, text="Service Unavailable"),
        httpx.Response(504, text="Gateway Timeout"),
        httpx.Response(429, json={"error": "Too many requests"}),
        httpx.Response(500, text="<html><body>500 Internal Server Error</body></html>"),
        httpx.Response(500, content=fault("Server.unavailable", "Try again")),
    ],
)
def test_what_is_retried(failure: httpx.Response) -> None:
    answers = [failure, failure]

    def workday(request: httpx.Request) -> httpx.Response:
        if answers:
            return answers.pop()
        return httpx.Response(200, content=customers_response(sent_references(request)))

    with client_with(workday) as client:
        assert list(client.resolve_customers(["C-1"], IdentifierType.REFERENCE).found) == ["C-1"]
        assert client.request_counts["Get_Customers"] == 3


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (
            httpx.Response(
                500, content=fault("Server.processingError", "Processing error occurred. Not authorized.")
            ),
            WorkdayConfigurationError,
            "not authorized for Get_Customers",
        ),
        (
            httpx.Response(500, content=fault("Client.validationError", "Count must be at most 999")),
            WorkdayPermanentError,
            "Count must be at most 999",
        ),
        (
            httpx.Response(404, text="<html><body>Not Found</body></html>"),
            WorkdayConfigurationError,
            "no resource /ccx/service/acme/Revenue_Management/v45.2 for Get_Customers",
        ),
        (httpx.Response(200, content=b"<env:Envelope"), WorkdayTransientError, "unreadable"),
    ],
)
def test_what_is_not_retried(answer: httpx.Response, error: type[Exception], text: str) -> None:
    with client_with(lambda request: answer) as client:
        with pytest.raises(error, match=text):
            client.resolve_customers(["C-1"], IdentifierType.REFERENCE)
        assert client.request_counts["Get_Customers"] == 1


def test_requests_carry_bearer_content_type_and_explicit_timeouts() -> None:
    seen: list[httpx.Request] = []

    def workday(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=customers_response(sent_references(request)))

    with client_with(workday) as client:
        client.resolve_customers(["C-1"], IdentifierType.REFERENCE)

    [request] = seen
    assert request.url == "https://wd.example/ccx/service/acme/Revenue_Management/v45.2"
    assert request.headers["Authorization"] == "Bearer at"
    assert request.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert request.extensions["timeout"] == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


def test_token_request_uses_basic_auth_and_the_refresh_grant() -> None:
    seen: list[httpx.Request] = []

    def route(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "at", "expires_in": 3600})
        return httpx.Response(200, content=customers_response(sent_references(request)))

    with WorkdayClient(SETTINGS, transport=httpx.MockTransport(route), retry=RETRY) as client:
        client.resolve_customers(["C-1"], IdentifierType.REFERENCE)

    token = seen[0]
    assert token.url == "https://wd.example/ccx/oauth2/acme/token"
    assert token.headers["Authorization"] == httpx.BasicAuth("id", "secret")._auth_header
    assert dict(httpx.QueryParams(token.content.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh",
    }
    assert client.request_counts == {"token": 1, "Get_Customers": 1}


def test_a_page_that_times_out_is_asked_for_again_at_half_the_size() -> None:
    # The sandbox breaks big pages off (see test_client_real_tenant); a page may also just run out of time.
    invoices = [
        {"id": f"{n:032x}", "invoiceNumber": f"INV-{n}", "totalAmount": n, "currency": "USD"}
        for n in range(150)
    ]
    limits: list[int] = []

    def workday(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/invoices"):
            limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
            limits.append(limit)
            if limit > 50:
                raise httpx.ReadTimeout("timed out", request=request)
            return httpx.Response(200, json={"total": 150, "data": invoices[offset : offset + limit]})
        empty = "<wd:Response_Results><wd:Total_Results>0</wd:Total_Results></wd:Response_Results>"
        return httpx.Response(
            200,
            content=envelope(
                f"<wd:Get_Customer_Payments_Response>{empty}</wd:Get_Customer_Payments_Response>"
            ),
        )

    customer = Customer("a" * 32, "C-1", None, "C", "USD", "Active", None)
    with client_with(workday) as client:
        snapshot = client.fetch_customer(customer)
        assert [invoice.invoice_number for invoice in snapshot.invoices] == [f"INV-{n}" for n in range(150)]
        client.fetch_customer(customer)
    # A page of 100 timed out once; every later page, of this fetch and the next, asks for 50.
    assert limits == [100, 50, 50, 50, 50, 50, 50]
