"""Workday-owned reference data of the sandbox tenant: currencies, companies, statuses, terms, payment
types."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta, timezone
from decimal import Decimal

__all__ = [
    "COMPANIES",
    "CURRENCIES",
    "CUSTOMER_STATUS_IDS",
    "INVOICE_STATUS_WIDS",
    "PAYMENT_APPLICATION_STATUSES",
    "PAYMENT_STATUSES",
    "PAYMENT_STATUS_WIDS",
    "PAYMENT_TERMS_DAYS",
    "PAYMENT_TYPES",
    "TENANT_TIMEZONE",
    "Company",
    "Currency",
    "PaymentType",
    "fixed_wid",
    "payment_terms",
]

#: The tenant's time zone for SOAP dates and date-times. Fixed at Pacific standard time (no DST switch) so a
#: response does not depend on the season.
TENANT_TIMEZONE = timezone(timedelta(hours=-8))


def fixed_wid(kind: str, key: str) -> str:
    """A stable 32-hex WID for a Workday-owned object, identical on every run and every seed."""
    return hashlib.md5(f"{kind}:{key}".encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    numeric_code: str
    #: Digits after the decimal point (JPY 0, KWD 3).
    exponent: int
    wid: str

    def quantize(self, amount: Decimal) -> Decimal:
        """`amount` with exactly this currency's number of decimals (and no negative zero)."""
        quantized = amount.quantize(Decimal(1).scaleb(-self.exponent))
        return quantized if quantized else abs(quantized)


CURRENCIES: dict[str, Currency] = {
    currency.code: currency
    for currency in (
        Currency("USD", "840", 2, fixed_wid("currency", "USD")),
        Currency("EUR", "978", 2, fixed_wid("currency", "EUR")),
        Currency("GBP", "826", 2, fixed_wid("currency", "GBP")),
        Currency("JPY", "392", 0, fixed_wid("currency", "JPY")),
        Currency("KWD", "414", 3, fixed_wid("currency", "KWD")),
    )
}


@dataclass(frozen=True, slots=True)
class Company:
    wid: str
    reference_id: str
    name: str


#: The company that bills a customer, by the customer's currency.
COMPANIES: dict[str, Company] = {
    code: Company(fixed_wid("company", reference_id), reference_id, name)
    for code, reference_id, name in (
        ("USD", "ACME_US", "Acme US"),
        ("EUR", "ACME_EU", "Acme Europe B.V."),
        ("GBP", "ACME_UK", "Acme UK Ltd"),
        ("JPY", "ACME_JP", "Acme Japan K.K."),
        ("KWD", "ACME_KW", "Acme Gulf W.L.L."),
    )
}

#: Customer status descriptor → Business_Entity_Status_Value_ID.
CUSTOMER_STATUS_IDS = {"Active": "ACTIVE", "Inactive": "INACTIVE", "On Hold": "ON_HOLD"}

#: REST invoiceStatus descriptor → Workday-owned WID (the same in every tenant).
INVOICE_STATUS_WIDS = {
    "Approved": "91b0d382d50848e898733757caa9f84a",
    "Canceled": "dc76c9b6446c11de98360015c5e6daf6",
    "Denied": "dc76c7cc446c11de98360015c5e6daf6",
    "Draft": "dc76c4fc446c11de98360015c5e6daf6",
    "Incomplete": "e264bc68581342baa70ab61bf71032fe",
    "In Progress": "dc76c8bc446c11de98360015c5e6daf6",
}

#: REST paymentStatus descriptor → Workday-owned WID.
PAYMENT_STATUS_WIDS = {
    "Paid": "d9e4362a446c11de98360015c5e6daf6",
    "Unpaid": "d9e43940446c11de98360015c5e6daf6",
    "Partially Paid": "d9e43706446c11de98360015c5e6daf6",
}

#: SOAP Payment_Status values of a customer payment.
PAYMENT_STATUSES = ("Complete", "Canceled", "Draft")
#: SOAP Payment_Application_Status values.
PAYMENT_APPLICATION_STATUSES = ("Applied", "Partially Applied", "Unapplied")

#: Net payment terms a customer can have, in days.
PAYMENT_TERMS_DAYS = (15, 30, 45, 60)


def payment_terms(days: int) -> tuple[str, str, str]:
    """(descriptor, Payment_Terms_ID, WID) of "Net {days}" terms."""
    return f"Net {days}", f"NET_{days}", fixed_wid("payment_terms", str(days))


@dataclass(frozen=True, slots=True)
class PaymentType:
    name: str
    type_id: str
    wid: str


PAYMENT_TYPES: dict[str, PaymentType] = {
    name: PaymentType(name, type_id, fixed_wid("payment_type", type_id))
    for name, type_id in (("Check", "CHECK"), ("ACH", "ACH"), ("Wire", "WIRE"), ("EFT", "EFT"))
}
