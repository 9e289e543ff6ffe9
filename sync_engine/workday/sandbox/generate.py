"""The seeded data set of the sandbox tenant: customers and their invoices, credit memos and payments.

Everything comes from one `random.Random(seed)` plus today's date (documents are dated within the last three
years), so a seed always gives the same WIDs, identifiers, names and counts.
"""

from __future__ import annotations

import random
import string
from bisect import bisect
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate

from sync_engine.workday.sandbox.catalog import (
    COMPANIES,
    CURRENCIES,
    PAYMENT_TERMS_DAYS,
    Currency,
)
from sync_engine.workday.sandbox.model import (
    SandboxCustomer,
    SandboxDocument,
    SandboxInvoice,
    SandboxPayment,
)

__all__ = ["GeneratedTenant", "generate_tenant", "invoice_number", "payment_number", "payment_reference_id"]

#: Names first in seed order, so that even a small data set has XML-special and non-ASCII ones.
SPECIAL_CUSTOMERS = (
    ("Smith & Sons", "USD"),
    ('<Acme> "Intl"', "USD"),
    ("O'Brien Logistics", "GBP"),
    ("Société Générale", "EUR"),
    ("株式会社 東京商事", "JPY"),
    ("Al-Sabah Trading W.L.L.", "KWD"),
    ("Müller & Söhne GmbH", "EUR"),
    ("Café <Zürich> AG", "EUR"),
)
_NAME_PARTS = (
    (
        "Northwind",
        "Contoso",
        "Globex",
        "Initech",
        "Umbrella",
        "Stark",
        "Wayne",
        "Hooli",
        "Vandelay",
        "Soylent",
        "Tyrell",
        "Cyberdyne",
        "Wonka",
        "Oceanic",
        "Prestige",
        "Sterling",
        "Blue Harbor",
        "Red Rock",
    ),
    ("Industries", "Logistics", "Foods", "Systems", "Capital", "Health", "Energy", "Retail", "Media", "Labs"),
    ("Inc.", "LLC", "Ltd", "GmbH", "S.A.", "B.V.", "plc", "Corp."),
)


class _Weighted:
    """Picks a name with probability proportional to its weight (cheaper than `Random.choices` per call)."""

    def __init__(self, weights: dict[str, int]) -> None:
        self._names = tuple(weights)
        self._cumulative = list(accumulate(weights.values()))

    def pick(self, rng: random.Random) -> str:
        return self._names[bisect(self._cumulative, rng.random() * self._cumulative[-1])]


_CURRENCIES = _Weighted({"USD": 50, "EUR": 20, "GBP": 15, "JPY": 8, "KWD": 7})
_CUSTOMER_STATUSES = _Weighted({"Active": 85, "Inactive": 10, "On Hold": 5})
_INVOICE_STATUSES = _Weighted({"Approved": 88, "In Progress": 5, "Draft": 3, "Canceled": 4})
_INVOICE_PAYMENT_STATUSES = _Weighted({"Paid": 55, "Unpaid": 30, "Partially Paid": 15})
_PAYMENT_TYPES = _Weighted({"Check": 40, "ACH": 35, "Wire": 20, "EFT": 5})
_PAYMENT_STATUSES = _Weighted({"Complete": 94, "Canceled": 4, "Draft": 2})
_APPLICATION_STATUSES = _Weighted({"Applied": 70, "Partially Applied": 15, "Unapplied": 15})
_MEMOS = (
    "Remittance for {number} & prior balance",
    "<urgent> wire transfer",
    'Payment "final" for {number}',
    "Paiement reçu — merci",
    "Q3 settlement",
)
_TAX_RATES_PERCENT = (0, 5, 10, 20)
#: How far back document dates go.
HISTORY_DAYS = 3 * 365
#: Documents per regular customer on average, when the caller gives no total.
DEFAULT_DOCUMENTS_PER_CUSTOMER = 30
#: Share of invoices that get a credit memo, and of credit memos that point at an invoice.
CREDIT_NOTE_SHARE = 0.10
RELATED_CREDIT_NOTE_SHARE = 0.85
#: Payments per invoice, for the mixed customers.
PAYMENT_SHARE = 0.5
#: A total that needs 14 significant digits, to prove nothing goes through a float.
LARGE_TOTAL = Decimal("123456789012.34")


def invoice_number(sequence: int, adjustment: bool = False) -> str:
    return f"{'CM' if adjustment else 'INV'}-{sequence:06d}"


def payment_number(sequence: int) -> str:
    return f"PAY-{sequence:06d}"


def payment_reference_id(sequence: int) -> str:
    return f"CUSTOMER_PAYMENT_FOR_INVOICES-6-{sequence}"


@dataclass(frozen=True, slots=True)
class GeneratedTenant:
    #: Customers in seed order, each with its entry time.
    customers: list[tuple[SandboxCustomer, datetime]]
    #: Documents with their entry times, each customer's in the tenant's stable order.
    documents: list[tuple[SandboxDocument, datetime]]
    big_customer_wid: str
    #: Last sequence numbers used, so that documents added later continue them.
    last_invoice_sequence: int
    last_payment_sequence: int


def generate_tenant(
    customers: int, seed: int, *, big_customer_documents: int, total_documents: int | None, today: date
) -> GeneratedTenant:
    """The data set; the first customer is the big one with `big_customer_documents` invoices."""
    if customers < 1:
        raise ValueError("customers must be at least 1")
    return _Generator(random.Random(seed), today).run(customers, big_customer_documents, total_documents)


class _Generator:
    def __init__(self, rng: random.Random, today: date) -> None:
        self._rng = rng
        self._today = today
        self._invoice_sequence = 0
        self._payment_sequence = 0
        self._wids: set[str] = set()

    def run(self, count: int, big_customer_documents: int, total_documents: int | None) -> GeneratedTenant:
        rng = self._rng
        customers = [self._customer(index) for index in range(count)]
        # Several customers with no documents at all; not the special ones, their names are tested with data.
        first = len(SPECIAL_CUSTOMERS) if count > len(SPECIAL_CUSTOMERS) + 3 else 1
        empty = set(rng.sample(range(first, count), k=min(count - first, max(3, round(count * 0.06)))))
        regular = [index for index in range(1, count) if index not in empty]

        big_counts = (
            big_customer_documents,
            round(big_customer_documents * CREDIT_NOTE_SHARE),
            round(big_customer_documents * PAYMENT_SHARE),
        )
        if total_documents is None:
            budget = DEFAULT_DOCUMENTS_PER_CUSTOMER * len(regular)
        else:
            budget = max(0, total_documents - sum(big_counts))
        # A long tail: many customers have a handful of documents, most a few dozen, a few hundreds.
        weights = [min(rng.lognormvariate(0.0, 1.3), 40.0) for _ in regular]
        scale = budget / sum(weights) if weights else 0.0

        documents: list[tuple[SandboxDocument, datetime]] = []
        documents += self._documents(customers[0][0], *big_counts, large_first=True)
        for index, weight in zip(regular, weights, strict=True):
            documents += self._documents(customers[index][0], *self._split(round(weight * scale)))
        return GeneratedTenant(
            customers, documents, customers[0][0].wid, self._invoice_sequence, self._payment_sequence
        )

    def _split(self, total: int) -> tuple[int, int, int]:
        """(invoices, credit notes, payments) adding up to about `total`, in one of three shapes."""
        rng = self._rng
        shape = rng.random()
        if total < 1:
            return 0, 0, 0
        if shape < 0.06:
            return 0, 0, total
        invoices = max(1, round(total / (1.1 if shape < 0.12 else 1 + CREDIT_NOTE_SHARE + PAYMENT_SHARE)))
        credit_notes = sum(rng.random() < CREDIT_NOTE_SHARE for _ in range(invoices))
        payments = 0 if shape < 0.12 else max(0, total - invoices - credit_notes)
        return invoices, credit_notes, payments

    def _wid(self) -> str:
        while True:
            wid = f"{self._rng.getrandbits(128):032x}"
            if wid not in self._wids:
                self._wids.add(wid)
                return wid

    def _customer(self, index: int) -> tuple[SandboxCustomer, datetime]:
        rng = self._rng
        wid = self._wid()
        if index < len(SPECIAL_CUSTOMERS):
            name, currency = SPECIAL_CUSTOMERS[index]
        else:
            name = " ".join(rng.choice(parts) for parts in _NAME_PARTS)
            currency = _CURRENCIES.pick(rng)
        reference_id = None
        if rng.random() < 0.6:
            reference_id = "001" + "".join(rng.choices(string.ascii_letters + string.digits, k=15))
        customer = SandboxCustomer(
            wid=wid,
            customer_id=f"C-{index + 1:06d}",
            customer_reference_id=reference_id,
            name=name,
            currency=currency,
            # The big customer is active: benchmarks and paging tests lean on it.
            status="Active" if index == 0 else _CUSTOMER_STATUSES.pick(rng),
            payment_terms_days=rng.choice(PAYMENT_TERMS_DAYS),
            company=COMPANIES[currency],
        )
        return customer, self._entered(self._today - timedelta(days=HISTORY_DAYS + 365))

    def _entered(self, day: date) -> datetime:
        """An entry time on `day` (always before today, so generated data is visible at once)."""
        return datetime.combine(day, time(tzinfo=UTC)) + timedelta(seconds=int(self._rng.random() * 86_400))

    def _day(self) -> date:
        return self._today - timedelta(days=1 + int(self._rng.random() * HISTORY_DAYS))

    def _amount(self, currency: Currency) -> Decimal:
        rng = self._rng
        if rng.random() < 0.002:
            major = rng.randrange(10**10, 10**12)
        else:
            major = int(10 ** rng.uniform(1.5, 5.5))
        minor = major * 10**currency.exponent + int(rng.random() * 10**currency.exponent)
        return Decimal(minor).scaleb(-currency.exponent)

    def _documents(
        self,
        customer: SandboxCustomer,
        invoice_count: int,
        credit_note_count: int,
        payment_count: int,
        *,
        large_first: bool = False,
    ) -> list[tuple[SandboxDocument, datetime]]:
        rng = self._rng
        currency = CURRENCIES[customer.currency]
        invoices = [
            self._invoice(customer, currency, day)
            for day in sorted(self._day() for _ in range(invoice_count))
        ]
        if large_first and invoices:
            first, entered = invoices[0]
            total = currency.quantize(LARGE_TOTAL)
            invoices[0] = (_with_total(first, total, currency), entered)
        # At most one credit memo per invoice, so credits never outweigh what was billed.
        corrected: list[SandboxInvoice | None] = [
            invoice for invoice, _ in rng.sample(invoices, k=min(credit_note_count, len(invoices)))
        ]
        corrected += [None] * (credit_note_count - len(corrected))
        credit_notes = [self._credit_note(customer, currency, invoice) for invoice in corrected]
        receivables = sorted(invoices + credit_notes, key=lambda entry: entry[1])
        payments = sorted(
            (self._payment(customer, currency, invoices) for _ in range(payment_count)),
            key=lambda entry: entry[1],
        )
        return [*receivables, *payments]

    def _invoice(
        self, customer: SandboxCustomer, currency: Currency, day: date
    ) -> tuple[SandboxInvoice, datetime]:
        rng = self._rng
        self._invoice_sequence += 1
        total = self._amount(currency)
        rate = Decimal(rng.choice(_TAX_RATES_PERCENT))
        status = _INVOICE_STATUSES.pick(rng)
        payment_status = "Unpaid"
        due = Decimal(0) if status == "Canceled" else total
        if status == "Approved":
            payment_status = _INVOICE_PAYMENT_STATUSES.pick(rng)
            if payment_status == "Paid":
                due = Decimal(0)
            elif payment_status == "Partially Paid":
                due = total * rng.randint(10, 90) / 100
        invoice = SandboxInvoice(
            wid=self._wid(),
            customer_wid=customer.wid,
            transaction_type="Invoice",
            invoice_number=invoice_number(self._invoice_sequence),
            invoice_date=day,
            due_date=day + timedelta(days=customer.payment_terms_days),
            total_amount=total,
            tax_amount=currency.quantize(total * rate / (100 + rate)),
            due_amount=currency.quantize(due),
            currency=currency.code,
            company=customer.company,
            invoice_status=status,
            payment_status=payment_status,
        )
        return invoice, self._entered(day)

    def _credit_note(
        self, customer: SandboxCustomer, currency: Currency, invoice: SandboxInvoice | None
    ) -> tuple[SandboxInvoice, datetime]:
        rng = self._rng
        self._invoice_sequence += 1
        related = invoice if invoice is not None and rng.random() < RELATED_CREDIT_NOTE_SHARE else None
        if related is None:
            day, base = self._day(), self._amount(currency)
        else:
            day = min(
                related.invoice_date + timedelta(days=rng.randint(1, 60)), self._today - timedelta(days=1)
            )
            base = related.total_amount * Decimal(rng.randint(5, 100)) / 100
        # Never zero: a credit memo of 0.00 would not exist.
        total = -max(currency.quantize(base), Decimal(1).scaleb(-currency.exponent))
        rate = Decimal(rng.choice(_TAX_RATES_PERCENT))
        paid = rng.random() < 0.6
        credit_note = SandboxInvoice(
            wid=self._wid(),
            customer_wid=customer.wid,
            transaction_type="Adjustment",
            invoice_number=invoice_number(self._invoice_sequence, adjustment=True),
            invoice_date=day,
            due_date=day + timedelta(days=customer.payment_terms_days),
            total_amount=total,
            tax_amount=currency.quantize(total * rate / (100 + rate)),
            due_amount=currency.quantize(Decimal(0)) if paid else total,
            currency=currency.code,
            company=customer.company,
            invoice_status="Approved" if rng.random() < 0.95 else "Draft",
            payment_status="Paid" if paid else "Unpaid",
            related_invoice_wid=related.wid if related else None,
        )
        return credit_note, self._entered(day)

    def _payment(
        self,
        customer: SandboxCustomer,
        currency: Currency,
        invoices: list[tuple[SandboxInvoice, datetime]],
    ) -> tuple[SandboxPayment, datetime]:
        rng = self._rng
        self._payment_sequence += 1
        sequence = self._payment_sequence
        paid = rng.choice(invoices)[0] if invoices and rng.random() < 0.6 else None
        if paid is not None:
            amount = paid.total_amount
            day = min(paid.invoice_date + timedelta(days=rng.randint(5, 45)), self._today - timedelta(days=1))
        else:
            amount, day = self._amount(currency), self._day()
        payment_type = _PAYMENT_TYPES.pick(rng)
        check_number = str(rng.randrange(100_000, 1_000_000)) if payment_type == "Check" else None
        memo = None
        if rng.random() < 0.3:
            memo = rng.choice(_MEMOS).format(number=paid.invoice_number if paid else "open items")
        payment = SandboxPayment(
            wid=self._wid(),
            customer_wid=customer.wid,
            reference_id=payment_reference_id(sequence),
            payment_number=payment_number(sequence) if rng.random() < 0.95 else None,
            payment_date=day,
            amount=amount,
            currency=currency.code,
            company=customer.company,
            payment_type=payment_type,
            payment_status=_PAYMENT_STATUSES.pick(rng),
            application_status=_APPLICATION_STATUSES.pick(rng),
            check_number=check_number,
            memo=memo,
        )
        return payment, self._entered(day)


def _with_total(invoice: SandboxInvoice, total: Decimal, currency: Currency) -> SandboxInvoice:
    """`invoice` with `total`, unpaid and untaxed so the amount due is `total` too."""
    return replace(
        invoice,
        total_amount=total,
        tax_amount=currency.quantize(Decimal(0)),
        due_amount=total,
        invoice_status="Approved",
        payment_status="Unpaid",
    )
