"""REST invoices parser of the Workday client and the benchmark's `minimum_requests` (pure: no sockets)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from devtools.bench.minimum import minimum_requests
from sync_engine.domain import CreditNote, Invoice
from sync_engine.errors import WorkdayPermanentError, WorkdayTransientError
from sync_engine.workday.rest import parse_error, parse_invoices

INVOICE_WID = "9f0c1d2e3f405162738495a6b7c8d9e0"
# Amounts written exactly as Workday writes them (JSON numbers, trailing zeros kept).
PAGE = b"""{"total": 203, "data": [
 {"id": "9f0c1d2e3f405162738495a6b7c8d9e0", "descriptor": "INV-000101", "invoiceNumber": "INV-000101",
  "transactionType": "Invoice", "invoiceDate": "2026-10-01", "dueDate": "2026-10-31",
  "totalAmount": {"value": 1200.10, "currency": "USD"}, "netAmount": {"value": 1000.10, "currency": "USD"},
  "taxAmount": {"value": 200.00, "currency": "USD"},
  "dueAmount": {"value": 12345678901234567.89, "currency": "USD"},
  "currency": {"descriptor": "USD"}, "company": {"id": "c0", "descriptor": "Acme US"},
  "billToCustomer": {"id": "3ae1f4b6c2d41001a1b2c3d4e5f60718", "descriptor": "Smith & <Sons>"},
  "invoiceStatus": {"id": "91b0d382d50848e898733757caa9f84a", "descriptor": "Approved"},
  "paymentStatus": {"id": "d9e43706446c11de98360015c5e6daf6", "descriptor": "Partially Paid"},
  "relatedInvoice": null, "relatedAdjustments": [{"id": "aa", "descriptor": "CM-1"}],
  "someFutureField": {"nested": [1, 2.5]},
  "href": "http://127.0.0.1/ccx/api/customerAccounts/v1/acme_tenant/invoices/9f0c"},
 {"id": "0123456789abcdef0123456789abcdef", "descriptor": "CM-000102", "invoiceNumber": "CM-000102",
  "transactionType": "Adjustment", "invoiceDate": "2026-10-05", "dueDate": null,
  "totalAmount": {"value": -1200, "currency": "JPY"}, "taxAmount": {"value": 0, "currency": "JPY"},
  "dueAmount": {"value": -0.001, "currency": "JPY"},
  "currency": {"descriptor": "JPY"},
  "invoiceStatus": {"id": "dc76c9b6446c11de98360015c5e6daf6", "descriptor": "Canceled"},
  "paymentStatus": {"id": "d9e4362a446c11de98360015c5e6daf6", "descriptor": "Paid"},
  "relatedInvoice": {"id": "9f0c1d2e3f405162738495a6b7c8d9e0", "descriptor": "INV-000101"},
  "relatedAdjustments": []}
]}"""


def test_invoices_and_credit_notes_keep_every_digit() -> None:
    page = parse_invoices(PAGE)

    assert page.total == 203
    assert page.invoices == [
        Invoice(
            wid=INVOICE_WID,
            invoice_number="INV-000101",
            invoice_date=date(2026, 10, 1),
            due_date=date(2026, 10, 31),
            total_amount=Decimal("1200.10"),
            tax_amount=Decimal("200.00"),
            due_amount=Decimal("12345678901234567.89"),
            currency="USD",
            invoice_status="Approved",
            payment_status="Partially Paid",
        )
    ]
    assert page.credit_notes == [
        CreditNote(
            wid="0123456789abcdef0123456789abcdef",
            credit_note_number="CM-000102",
            credit_note_date=date(2026, 10, 5),
            total_amount=Decimal("-1200"),
            due_amount=Decimal("-0.001"),
            currency="JPY",
            invoice_status="Canceled",
            payment_status="Paid",
            related_invoice_wid=INVOICE_WID,
        )
    ]
    # Not only equal: the same scale, so "1200.10" is stored as written.
    invoice = page.invoices[0]
    assert (str(invoice.total_amount), str(invoice.tax_amount), str(invoice.due_amount)) == (
        "1200.10",
        "200.00",
        "12345678901234567.89",
    )


def test_an_empty_page() -> None:
    page = parse_invoices(b'{"total": 0, "data": []}')
    assert (page.total, page.invoices, page.credit_notes) == (0, [], [])


def test_a_garbled_page_is_transient() -> None:
    with pytest.raises(WorkdayTransientError, match="unreadable"):
        parse_invoices(b'{"total": 3, "data": [')


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"data": []}, "total"),
        ({"total": 1, "data": {}}, "data"),
        ({"total": 1, "data": [{"descriptor": "INV-1", "totalAmount": {"value": 1}}]}, "id"),
        (
            {"total": 1, "data": [{"id": "a", "invoiceNumber": "INV-1", "currency": {"descriptor": "USD"}}]},
            "total",
        ),
        (
            {"total": 1, "data": [{"id": "a", "invoiceNumber": "1", "totalAmount": {"value": "1.00"}}]},
            "currency is missing",
        ),
    ],
)
def test_a_page_of_the_wrong_shape_is_permanent(body: object, problem: str) -> None:
    with pytest.raises(WorkdayPermanentError, match=problem):
        parse_invoices(json.dumps(body).encode())


def one_invoice(**fields: object) -> bytes:
    item = {"id": INVOICE_WID, "invoiceNumber": "INV-1", "transactionType": "Invoice", **fields}
    # Written by hand so that numbers keep their digits (json.dumps would go through float).
    return ('{"total": 1, "data": [' + json.dumps(item).replace('"@', "").replace('@"', "") + "]}").encode()


@pytest.mark.parametrize(
    ("total", "currency_field", "expected"),
    [
        ("@1200.10@", {"descriptor": "EUR"}, ("1200.10", "EUR")),
        ("1200.10", {"descriptor": "EUR"}, ("1200.10", "EUR")),
        ("-0.001", "JPY", ("-0.001", "JPY")),
        ({"value": "@1200.10@", "currency": "USD"}, None, ("1200.10", "USD")),
        ({"value": "1E+3", "currency": "USD"}, None, ("1E+3", "USD")),
        (
            {"value": "@12345678901234567.89@", "currency": {"id": "9e9", "descriptor": "GBP"}},
            None,
            ("12345678901234567.89", "GBP"),
        ),
        ({"value": "@7@", "currency": {"id": "CHF"}}, None, ("7", "CHF")),
    ],
)
def test_every_amount_shape_of_the_specs_is_read_exactly(
    total: object, currency_field: object, expected: tuple[str, str]
) -> None:
    fields: dict[str, object] = {"totalAmount": total}
    if currency_field is not None:
        fields["currency"] = currency_field
    [invoice] = parse_invoices(one_invoice(**fields)).invoices
    assert (str(invoice.total_amount), invoice.currency) == expected


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        (
            "totalAmount",
            {"amount": "1.00", "currencyCode": "USD"},
            '{"amount": "1.00", "currencyCode": "USD"}',
        ),
        ("totalAmount", "1,200.10", '"1,200.10"'),
        ("taxAmount", {"value": "NaN", "currency": "USD"}, '{"value": "NaN", "currency": "USD"}'),
        (
            "dueAmount",
            {"value": 5, "currency": {"id": "0123abcd"}},
            '{"value": 5, "currency": {"id": "0123abcd"}}',
        ),
        ("dueAmount", [5], "[5]"),
    ],
)
def test_an_amount_in_an_unknown_shape_is_named_and_shown(field: str, value: object, shown: str) -> None:
    fields = {"totalAmount": {"value": 1, "currency": "USD"}, field: value}
    with pytest.raises(WorkdayPermanentError) as raised:
        parse_invoices(one_invoice(**fields))
    message = str(raised.value)
    assert f"invoice INV-1 ({INVOICE_WID}) with {field} in a shape we do not read: {shown}" in message


def adjustment(**amounts: object) -> bytes:
    return one_invoice(transactionType="Adjustment", currency={"descriptor": "USD"}, **amounts)


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        # Workday's own total wins when it is not zero.
        ({"totalAmount": "-120.50", "netAmount": "-100.00", "taxAmount": "-20.00"}, "-120.50"),
        # "When the reporting transaction is not an instance of a customer invoice, the amount value is zero."
        (
            {"totalAmount": "@0@", "netAmount": "@-100.40@", "taxAmount": "@-20.10@", "dueAmount": "@-3@"},
            "-120.50",
        ),
        ({"totalAmount": {"value": "0.00", "currency": "USD"}, "netAmount": "-100.00"}, "-100.00"),
        ({"totalAmount": "0", "netAmount": "0", "taxAmount": "0", "dueAmount": "-75.25"}, "-75.25"),
        ({"netAmount": "-10.00", "taxAmount": "-1.00"}, "-11.00"),
        ({"totalAmount": "0.00", "dueAmount": "0"}, "0.00"),
    ],
)
def test_an_adjustment_with_a_zero_total_stores_its_real_amount(
    amounts: dict[str, object], expected: str
) -> None:
    [note] = parse_invoices(adjustment(**amounts)).credit_notes
    assert str(note.total_amount) == expected


def test_rest_error_text() -> None:
    assert parse_error(b'{"error": "limit must be between 1 and 100"}') == "limit must be between 1 and 100"
    assert parse_error(b"<html><body>Not Found</body></html>") is None
    nested = b'{"error": "invalid request", "errors": [{"error": "Invalid ID value. \'x\'", "field": "f"}]}'
    assert parse_error(nested) == "invalid request: Invalid ID value. 'x'"
    assert parse_error(b'["error"]') is None


def test_minimum_requests_follows_the_wire_contract() -> None:
    # 1 token + 1 Get_Customers + per customer: REST pages of 100 + SOAP pages of 999 (at least 1 each).
    assert minimum_requests(1, [(0, 0)]) == 1 + 1 + 1 + 1
    assert minimum_requests(3, [(100, 999), (101, 1000), (1320, 600)]) == 1 + 1 + (1 + 1) + (2 + 2) + (14 + 1)
    assert minimum_requests(100, [(1, 1)] * 95, retry_rounds=1) == 1 + 1 + 1 + 95 * 2
    assert minimum_requests(150, []) == 1 + 2
