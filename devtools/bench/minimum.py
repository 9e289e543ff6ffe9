"""The fewest HTTP requests a batch can take, by the wire contract: the floor the benchmark and the tests
hold the Workday client's request counts to."""

from __future__ import annotations

import math
from collections.abc import Iterable

from sync_engine.workday import CUSTOMERS_PER_REQUEST, INVOICES_PAGE_SIZE, PAYMENTS_PAGE_SIZE

__all__ = ["batched_minimum_requests", "minimum_requests"]


def minimum_requests(
    references: int,
    documents: Iterable[tuple[int, int]],
    *,
    retry_rounds: int = 0,
    invoices_page_size: int = INVOICES_PAGE_SIZE,
    payments_page_size: int = PAYMENTS_PAGE_SIZE,
) -> int:
    """The fewest HTTP requests a batch takes when each customer is fetched alone (`fetch_customer`).

    Parameters:
      references: identifiers resolved (one `Get_Customers` call per `CUSTOMERS_PER_REQUEST`).
      documents: per customer fetched, (invoices + credit notes, payments).
      retry_rounds: `Get_Customers` calls repeated after a fault named invalid references (one per batch
        that mixes valid and invalid references).
    """
    pages = sum(
        math.ceil(max(1, receivables) / invoices_page_size) + math.ceil(max(1, payments) / payments_page_size)
        for receivables, payments in documents
    )
    return 1 + math.ceil(references / CUSTOMERS_PER_REQUEST) + retry_rounds + pages


def batched_minimum_requests(
    references: int,
    receivables: int,
    payments: int,
    *,
    invoices_page_size: int = INVOICES_PAGE_SIZE,
    payments_page_size: int = PAYMENTS_PAGE_SIZE,
) -> int:
    """The fewest HTTP requests a batch can take when many customers share each request: a token, one
    `Get_Customers` per `CUSTOMERS_PER_REQUEST`, and the run's invoices and credit notes (`receivables`)
    and payments in full pages."""
    return (
        1
        + math.ceil(references / CUSTOMERS_PER_REQUEST)
        + math.ceil(max(1, receivables) / invoices_page_size)
        + math.ceil(max(1, payments) / payments_page_size)
    )
