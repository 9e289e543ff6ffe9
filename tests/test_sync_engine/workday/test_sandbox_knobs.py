"""The sandbox's knobs on real sockets (throttling, faults, timeouts, latency, rights), stats, serve()."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree
from pydantic import SecretStr

from sync_engine.workday.sandbox import Sandbox, SandboxData, SandboxKnobs
from sync_engine.workday.sandbox.faults import knobs_from

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WD = "urn:com.workday/bsvc"
NS = {"env": ENV, "wd": WD}
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def sandbox_data() -> SandboxData:
    return SandboxData.generate(customers=10, seed=11)


@pytest.fixture
def token(http: httpx.Client, sandbox: Sandbox) -> str:
    response = http.post(
        f"/ccx/oauth2/{sandbox.tenant}/token",
        data={"grant_type": "refresh_token", "refresh_token": sandbox.refresh_token},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    return str(response.json()["access_token"])


def payments_request(customer_wid: str, page: int = 1) -> bytes:
    root = etree.Element(f"{{{ENV}}}Envelope", nsmap={"env": ENV, "wd": WD})
    request = etree.SubElement(
        etree.SubElement(root, f"{{{ENV}}}Body"), f"{{{WD}}}Get_Customer_Payments_Request"
    )
    request.set(f"{{{WD}}}version", "v45.2")
    reference = etree.SubElement(
        etree.SubElement(request, f"{{{WD}}}Request_Criteria"), f"{{{WD}}}Remit-from_Customer_Reference"
    )
    identifier = etree.SubElement(reference, f"{{{WD}}}ID")
    identifier.set(f"{{{WD}}}type", "WID")
    identifier.text = customer_wid
    response_filter = etree.SubElement(request, f"{{{WD}}}Response_Filter")
    etree.SubElement(response_filter, f"{{{WD}}}Page").text = str(page)
    etree.SubElement(response_filter, f"{{{WD}}}Count").text = "100"
    return etree.tostring(root)


def soap(http: httpx.Client, sandbox: Sandbox, token: str, body: bytes) -> httpx.Response:
    return http.post(
        f"/ccx/service/{sandbox.tenant}/Revenue_Management/v45.2",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/xml; charset=utf-8"},
    )


def invoices(http: httpx.Client, sandbox: Sandbox, token: str) -> httpx.Response:
    return http.get(
        f"/ccx/api/customerAccounts/v1/{sandbox.tenant}/invoices",
        params={"billToCustomer": sandbox.data.big_customer_wid, "limit": 5},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_rate_limit_throttles_rest_with_429_and_soap_with_a_plain_500(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    sandbox.knobs.rate_limit = 2
    rest = [invoices(http, sandbox, token) for _ in range(5)]
    time.sleep(0.6)
    refilled = invoices(http, sandbox, token)
    sandbox.knobs.rate_limit = 1
    calls = [soap(http, sandbox, token, payments_request(sandbox.data.big_customer_wid)) for _ in range(3)]

    assert [r.status_code for r in rest] == [200, 200, 429, 429, 429]
    assert rest[-1].json() == {"error": "Too many requests"} and "retry-after" not in rest[-1].headers
    assert refilled.status_code == 200
    assert [r.status_code for r in calls] == [200, 500, 500]
    assert calls[-1].headers["content-type"].startswith("text/html")
    assert calls[-1].text == "<html><body>500 Internal Server Error</body></html>"
    assert sandbox.stats.count(outcome="throttled") == 5
    assert sandbox.stats.count("token") == 1


def test_strict_rate_limit_admits_at_most_n_in_any_sliding_second(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    sandbox.knobs.strict_rate_limit = 2
    sent: list[tuple[float, float, int]] = []
    # Past the first second: a token bucket would have refilled a request by then; the window only frees
    # a place one second after each admitted arrival.
    while len(sent) < 12:
        start = time.monotonic()
        status = invoices(http, sandbox, token).status_code
        sent.append((start, time.monotonic(), status))
        time.sleep(0.15)
    calls = [soap(http, sandbox, token, payments_request(sandbox.data.big_customer_wid)) for _ in range(3)]

    admitted = [(start, end) for start, end, status in sent if status == 200]
    assert {status for *_, status in sent} == {200, 429}
    # Any two admissions two apart arrived at least a second apart (lower bounds: a slow machine holds).
    assert all(admitted[i + 2][1] - admitted[i][0] >= 1.0 for i in range(len(admitted) - 2))
    refused = next(r for r in (invoices(http, sandbox, token) for _ in range(3)) if r.status_code == 429)
    assert refused.json() == {"error": "Too many requests"} and "retry-after" not in refused.headers
    assert 500 in [r.status_code for r in calls]
    plain = next(r for r in calls if r.status_code == 500)
    assert plain.text == "<html><body>500 Internal Server Error</body></html>"
    assert sandbox.stats.count("token") == 1


def test_random_faults_are_reproducible_by_seed() -> None:
    def statuses(seed: int) -> list[int]:
        knobs = SandboxKnobs(rest_429_rate=0.5, fault_seed=seed)
        with (
            Sandbox(SandboxData.generate(customers=10, seed=11), knobs=knobs) as running,
            httpx.Client(base_url=running.base_url) as client,
        ):
            fresh = client.post(
                f"/ccx/oauth2/{running.tenant}/token",
                data={"grant_type": "refresh_token", "refresh_token": running.refresh_token},
                auth=(running.client_id, running.client_secret),
            ).json()["access_token"]
            return [invoices(client, running, fresh).status_code for _ in range(20)]

    first, again, other = statuses(4), statuses(4), statuses(5)

    assert first == again != other
    assert set(first) == {200, 429}


def test_injected_soap_500s(http: httpx.Client, sandbox: Sandbox, token: str) -> None:
    sandbox.knobs.soap_500_rate = 1.0

    response = soap(http, sandbox, token, payments_request(sandbox.data.big_customer_wid))

    assert (response.status_code, response.text) == (
        500,
        "<html><body>500 Internal Server Error</body></html>",
    )
    assert invoices(http, sandbox, token).status_code == 200


def test_a_timeout_holds_the_response_past_the_client_timeout(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    sandbox.knobs.timeout_rate = 1.0
    sandbox.knobs.hang_seconds = 1.0

    with pytest.raises(httpx.ReadTimeout):
        http.get(
            f"/ccx/api/customerAccounts/v1/{sandbox.tenant}/invoices",
            params={"billToCustomer": sandbox.data.big_customer_wid},
            headers={"Authorization": f"Bearer {token}"},
            timeout=0.2,
        )
    deadline = time.monotonic() + 3
    while sandbox.stats.count("invoices", "timeout") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox.stats.count("invoices", "timeout") == 1


def test_latency_and_a_slow_first_payments_page(http: httpx.Client, sandbox: Sandbox, token: str) -> None:
    sandbox.knobs.latency = 0.15
    started = time.perf_counter()
    assert invoices(http, sandbox, token).status_code == 200
    assert time.perf_counter() - started >= 0.15

    sandbox.knobs.latency = 0
    sandbox.knobs.slow_page_seconds = 0.3
    started = time.perf_counter()
    soap(http, sandbox, token, payments_request(sandbox.data.big_customer_wid, page=1))
    first_page = time.perf_counter() - started
    started = time.perf_counter()
    soap(http, sandbox, token, payments_request(sandbox.data.big_customer_wid, page=2))
    second_page = time.perf_counter() - started
    assert first_page >= 0.3 > second_page


@pytest.mark.parametrize("operation", ["Get_Customers", "Get_Customer_Payments"])
def test_unauthorized_soap_operation_is_a_processing_fault(
    http: httpx.Client, sandbox: Sandbox, token: str, operation: str
) -> None:
    sandbox.knobs.unauthorized_operations = {operation}
    root = etree.Element(f"{{{ENV}}}Envelope", nsmap={"env": ENV, "wd": WD})
    request = etree.SubElement(etree.SubElement(root, f"{{{ENV}}}Body"), f"{{{WD}}}{operation}_Request")
    request.set(f"{{{WD}}}version", "v45.2")

    response = soap(http, sandbox, token, etree.tostring(root))

    assert response.status_code == 500
    fault = etree.fromstring(response.content).find("env:Body/env:Fault", NS)
    assert fault is not None
    message = "Processing error occurred. The task submitted is not authorized."
    assert (fault.findtext("faultcode"), fault.findtext("faultstring")) == (
        "SOAP-ENV:Server.processingError",
        message,
    )
    assert fault.findtext("detail/wd:Processing_Fault/wd:Detail_Message", namespaces=NS) == message
    assert sandbox.stats.count(operation, "unauthorized") == 1


def test_in_flight_peak_is_observed(sandbox: Sandbox, token: str) -> None:
    sandbox.knobs.latency = 0.3

    def call(_: int) -> int:
        with httpx.Client(base_url=sandbox.base_url) as client:
            return invoices(client, sandbox, token).status_code

    with ThreadPoolExecutor(5) as pool:
        assert list(pool.map(call, range(5))) == [200] * 5
    assert sandbox.max_in_flight_seen == 5

    sandbox.stats.reset()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(call, range(4)))
    assert sandbox.max_in_flight_seen == 2


def test_stats_count_by_operation_and_outcome(http: httpx.Client, sandbox: Sandbox, token: str) -> None:
    soap(http, sandbox, token, payments_request(sandbox.data.big_customer_wid))
    soap(http, sandbox, token, payments_request("0" * 32))
    invoices(http, sandbox, token)
    invoices(http, sandbox, "expired")

    assert sandbox.stats.by_operation() == {"token": 1, "Get_Customer_Payments": 2, "invoices": 2}
    assert sandbox.stats.by_outcome() == {"ok": 3, "fault": 1, "unauthorized": 1}
    assert sandbox.stats.total() == 5
    assert sandbox.stats.log[2].references == frozenset({("WID", "0" * 32)})
    sandbox.stats.reset()
    assert sandbox.stats.total() == 0 and sandbox.stats.log == []


def test_settings_and_environment_point_at_the_sandbox(sandbox: Sandbox) -> None:
    settings = sandbox.workday_settings(timeout=2.0, client_secret="other")

    assert (settings.base_url, settings.tenant, settings.client_id) == (
        sandbox.base_url,
        "acme_tenant",
        sandbox.client_id,
    )
    assert (settings.api_version, settings.reference_id_type) == ("v45.2", "Customer_ID")
    assert (settings.max_in_flight, settings.rate_limit, settings.timeout) == (4, 5.0, 2.0)
    assert settings.client_secret == SecretStr("other")
    assert settings.refresh_token.get_secret_value() == sandbox.refresh_token
    assert sandbox.workday_env() == {
        "WORKDAY_BASE_URL": sandbox.base_url,
        "WORKDAY_TENANT": "acme_tenant",
        "WORKDAY_CLIENT_ID": sandbox.client_id,
        "WORKDAY_CLIENT_SECRET": sandbox.client_secret,
        "WORKDAY_REFRESH_TOKEN": sandbox.refresh_token,
        "WORKDAY_API_VERSION": "v45.2",
        "WORKDAY_AS_OF_LAG": "0",
    }


def test_serve_prints_its_environment_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "from sync_engine.workday.sandbox import serve; serve(0, 5, 3, 0.0)"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().strip().split("=", 1) for _ in range(6))
        response = httpx.post(
            f"{lines['WORKDAY_BASE_URL']}/ccx/oauth2/{lines['WORKDAY_TENANT']}/token",
            data={"grant_type": "refresh_token", "refresh_token": lines["WORKDAY_REFRESH_TOKEN"]},
            auth=(lines["WORKDAY_CLIENT_ID"], lines["WORKDAY_CLIENT_SECRET"]),
        )
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.communicate()


def test_knobs_from_the_command_line() -> None:
    knobs = knobs_from(
        [
            "fault_locale=de",
            "omit_response_filter=true",
            "rate_limit=2.5",
            "strict_rate_limit=5",
            "unauthorized_operations=a,b",
        ],
        latency=0.1,
    )
    assert (knobs.fault_locale, knobs.omit_response_filter, knobs.rate_limit) == ("de", True, 2.5)
    assert knobs.strict_rate_limit == 5 and isinstance(knobs.strict_rate_limit, int)
    assert knobs.unauthorized_operations == {"a", "b"} and knobs.latency == 0.1
    for bad in ("nope=1", "revoked=maybe", "latency", "strict_rate_limit=2.5"):
        with pytest.raises(ValueError):
            knobs_from([bad])


# --- shapes of a real tenant (issue 12) -----------------------------------------------------------------


def invoice_items(http: httpx.Client, sandbox: Sandbox, token: str, **params: Any) -> dict[str, Any]:
    query = {"billToCustomer": sandbox.data.big_customer_wid, "limit": 100, "offset": 0, **params}
    response = http.get(
        f"/ccx/api/customerAccounts/v1/{sandbox.tenant}/invoices",
        params=query,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = json.loads(response.content, parse_float=Decimal)
    return body


def test_amount_shapes_and_zero_adjustment_totals(http: httpx.Client, sandbox: Sandbox, token: str) -> None:
    default = invoice_items(http, sandbox, token)["data"][0]
    assert set(default["totalAmount"]) == {"value", "currency"} and default["currency"]["descriptor"]

    sandbox.knobs.amount_shape = "number"
    assert isinstance(invoice_items(http, sandbox, token)["data"][0]["totalAmount"], Decimal | int)
    sandbox.knobs.amount_shape = "string"
    assert isinstance(invoice_items(http, sandbox, token)["data"][0]["taxAmount"], str)
    sandbox.knobs.amount_shape = "reference"
    sandbox.knobs.document_currency = False
    item = invoice_items(http, sandbox, token)["data"][0]
    assert set(item["dueAmount"]["currency"]) == {"id", "descriptor"} and "currency" not in item
    sandbox.knobs.amount_shape = "mixed"
    kinds = {type(i["netAmount"]).__name__ for i in invoice_items(http, sandbox, token)["data"]}
    assert kinds >= {"dict", "str"}

    sandbox.knobs.amount_shape = "object"
    sandbox.knobs.zero_adjustment_totals = True
    adjustments = invoice_items(http, sandbox, token, transactionType="adjustment")["data"]
    assert adjustments and all(a["totalAmount"]["value"] == 0 for a in adjustments)
    assert any(a["netAmount"]["value"] != 0 for a in adjustments)


def test_totals_counting_invisible_documents_and_moving_order(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    first = invoice_items(http, sandbox, token, limit=10)
    second = invoice_items(http, sandbox, token, limit=10, offset=10)

    sandbox.knobs.rest_invisible_every = 5
    hidden = invoice_items(http, sandbox, token, limit=10)
    assert hidden["total"] == first["total"] and len(hidden["data"]) == 8
    assert [i["id"] for i in hidden["data"]] == [i["id"] for n, i in enumerate(first["data"], 1) if n % 5]

    sandbox.knobs.rest_invisible_every = 0
    sandbox.knobs.rest_order_moves = 1
    assert invoice_items(http, sandbox, token, limit=10) == first  # page 1 never moves
    assert invoice_items(http, sandbox, token, limit=10, offset=10) != second
    assert invoice_items(http, sandbox, token, limit=10, offset=10) == second
    assert sandbox.knobs.rest_order_moves == 0


def test_a_response_over_the_maximum_size_is_broken_off(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    sandbox.knobs.max_response_bytes = 5_000

    with pytest.raises(httpx.RemoteProtocolError):
        invoice_items(http, sandbox, token)
    with pytest.raises(httpx.RemoteProtocolError):
        soap(http, sandbox, token, payments_request(sandbox.data.big_customer_wid))
    assert len(invoice_items(http, sandbox, token, limit=2)["data"]) == 2
    assert sandbox.stats.by_outcome() == {"ok": 2, "too_large": 2}


def test_stale_token_scopes_and_a_disabled_rest_service(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    sandbox.knobs.stale_token_scopes = True
    assert invoices(http, sandbox, token).status_code == 403
    assert soap(http, sandbox, token, payments_request(sandbox.data.big_customer_wid)).status_code == 200
    fresh = http.post(
        f"/ccx/oauth2/{sandbox.tenant}/token",
        data={"grant_type": "refresh_token", "refresh_token": sandbox.refresh_token},
        auth=(sandbox.client_id, sandbox.client_secret),
    ).json()["access_token"]
    assert invoices(http, sandbox, fresh).status_code == 200

    sandbox.knobs.rest_service_disabled = True
    response = invoices(http, sandbox, fresh)
    assert (response.status_code, response.json()) == (404, {"error": "Resource not found."})


def test_page_one_is_priced_by_what_the_query_matches(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    matched = invoice_items(http, sandbox, token, limit=1)["total"]
    sandbox.knobs.seconds_per_result = 0.4 / matched
    sandbox.stats.reset()

    invoice_items(http, sandbox, token, limit=1)
    narrow = invoice_items(
        http, sandbox, token, limit=1, fromInvoiceDate="2000-01-01", toInvoiceDate="2000-01-01"
    )
    invoice_items(http, sandbox, token, limit=1, offset=1)

    assert narrow == {"total": 0, "data": []}
    whole_list, one_day, page_two = (entry.priced_seconds for entry in sandbox.stats.log)
    assert (whole_list, one_day, page_two) == (pytest.approx(0.4), 0.0, 0.0)


def test_the_sandbox_command_sets_the_knobs() -> None:
    knobs = ["--rest-service-disabled", "--amount-shape", "string", "--max-response-bytes", "100000"]
    process = subprocess.Popen(
        [sys.executable, "-m", "sync_engine", "sandbox", "--port", "0", "--customers", "3", *knobs],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().strip().split("=", 1) for _ in range(6))
        base, tenant = lines["WORKDAY_BASE_URL"], lines["WORKDAY_TENANT"]
        token = httpx.post(
            f"{base}/ccx/oauth2/{tenant}/token",
            data={"grant_type": "refresh_token", "refresh_token": lines["WORKDAY_REFRESH_TOKEN"]},
            auth=(lines["WORKDAY_CLIENT_ID"], lines["WORKDAY_CLIENT_SECRET"]),
        ).json()["access_token"]
        response = httpx.get(
            f"{base}/ccx/api/customerAccounts/v1/{tenant}/invoices",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 404
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.communicate()


def test_repeated_filters_list_exactly_their_customers_one_after_another_or_interleaved(
    http: httpx.Client, sandbox: Sandbox, token: str
) -> None:
    data = sandbox.data
    wids = [wid for wid in data.customer_wids if all(3 <= n <= 30 for n in data.counts(wid)[:2])][:3]
    assert len(wids) == 3
    receivables = sum(data.counts(wid)[0] + data.counts(wid)[2] for wid in wids)

    def rest_owners() -> list[str]:
        response = http.get(
            f"/ccx/api/customerAccounts/v1/{sandbox.tenant}/invoices",
            params=[*(("billToCustomer", wid) for wid in wids), ("limit", "100")],
            headers={"Authorization": f"Bearer {token}"},
        )
        body = response.json()
        assert body["total"] == receivables
        return [item["billToCustomer"]["id"] for item in body["data"]]

    def soap_owners() -> list[str]:
        body = etree.fromstring(payments_request(wids[0]))
        criteria = body.find(f".//{{{WD}}}Request_Criteria")
        assert criteria is not None
        for wid in wids[1:]:
            reference = etree.SubElement(criteria, f"{{{WD}}}Remit-from_Customer_Reference")
            identifier = etree.SubElement(reference, f"{{{WD}}}ID")
            identifier.set(f"{{{WD}}}type", "WID")
            identifier.text = wid
        page = etree.fromstring(soap(http, sandbox, token, etree.tostring(body)).content)
        remit = f"{{{WD}}}Customer_Payment_Data/{{{WD}}}Remit-from_Customer_Reference/{{{WD}}}ID"
        return [item.findtext(remit) or "" for item in page.iter(f"{{{WD}}}Customer_Payment")]

    # Default: each customer's documents together, in the order the customers were named.
    for owners in (rest_owners(), soap_owners()):
        assert set(owners) <= set(wids)
        assert [wid for wid in dict.fromkeys(owners)] == wids
        assert sum(1 for a, b in itertools.pairwise(owners) if a != b) == 2
    assert sorted(soap_owners()) == sorted(w for w in wids for _ in data.snapshot(w).payments)
    # Knob: one of each customer in turn, so a customer's documents spread over the whole list.
    sandbox.knobs.interleave_customers = True
    for owners in (rest_owners(), soap_owners()):
        assert owners[:3] == wids and owners[3:6] == wids
