"""What a benchmark batch is (data set, request caps, page sizes) and its floor: pure arithmetic."""

from __future__ import annotations

import math
from dataclasses import dataclass

from devtools.bench.minimum import batched_minimum_requests, minimum_requests
from sync_engine.workday import INVOICES_PAGE_SIZE, PAYMENTS_PAGE_SIZE
from sync_engine.workday.client import CUSTOMERS_PER_GROUP
from sync_engine.workday.sandbox import SandboxData

__all__ = ["NAIVE_PAGES", "Caps", "DataSpec", "Floor", "floor_of"]


@dataclass(frozen=True, slots=True)
class DataSpec:
    """A sandbox data set: `customers` with about `total_documents`, the first with `big_customer_documents`
    invoices (plus a tenth as many credit notes and half as many payments)."""

    customers: int
    total_documents: int
    big_customer_documents: int
    seed: int = 2026

    def generate(self) -> SandboxData:
        return SandboxData.generate(
            customers=self.customers,
            seed=self.seed,
            big_customer_documents=self.big_customer_documents,
            total_documents=self.total_documents,
        )


@dataclass(frozen=True, slots=True)
class Caps:
    """The client's request caps and page sizes for one batch (defaults: the product's)."""

    max_in_flight: int = 4
    #: Requests per second; None = no cap (the settings' ceiling, 1,000/s).
    rate_limit: float | None = 5.0
    invoices_page_size: int = INVOICES_PAGE_SIZE
    payments_page_size: int = PAYMENTS_PAGE_SIZE
    #: Customers fetched together; 1 = each alone, as before batching (the naive baseline).
    customers_per_group: int = CUSTOMERS_PER_GROUP


#: Workday's default page sizes (REST `limit` 20, SOAP `Count` 100), each customer alone.
NAIVE_PAGES = {"invoices_page_size": 20, "payments_page_size": 100, "customers_per_group": 1}


@dataclass(frozen=True, slots=True)
class Floor:
    """The least time a batch can take given Workday's caps and latency."""

    #: Fewest requests the data needs at these page sizes (token and Get_Customers included): the batched
    #: minimum (every customer's documents in shared pages) when customers are fetched together, else the
    #: sum of each customer's pages.
    minimum: int
    #: Longest chain of requests that each need the previous one's answer.
    critical_path: int
    seconds: float


def floor_of(data: SandboxData, wids: list[str], caps: Caps, latency: float) -> Floor:
    """max((minimum - 1) / rate + latency, critical path × latency, minimum × latency / in-flight cap).

    The chain: token → Get_Customers → page 1 (its `total` / `Total_Pages` says what else to ask) → every
    other page at once. With one request in flight everything is one chain, which the third term covers.
    """
    documents = []
    for wid in wids:
        invoices, payments, credit_notes = data.counts(wid)
        documents.append((invoices + credit_notes, payments))
    pages = {"invoices_page_size": caps.invoices_page_size, "payments_page_size": caps.payments_page_size}
    if caps.customers_per_group > 1:
        receivables = sum(receivable for receivable, _ in documents)
        payments = sum(payment for _, payment in documents)
        minimum = batched_minimum_requests(len(wids), receivables, payments, **pages)
    else:
        minimum = minimum_requests(len(wids), documents, **pages)
    paged = any(
        receivables > caps.invoices_page_size or payments > caps.payments_page_size
        for receivables, payments in documents
    )
    critical_path = 3 + (1 if paged else 0) + (math.ceil(len(wids) / 100) - 1)
    seconds = max(
        # n evenly spaced sends take (n - 1) / rate; the last one then needs its latency.
        (minimum - 1) / caps.rate_limit + latency if caps.rate_limit else 0.0,
        critical_path * latency,
        minimum * latency / caps.max_in_flight,
    )
    return Floor(minimum=minimum, critical_path=critical_path, seconds=seconds)
