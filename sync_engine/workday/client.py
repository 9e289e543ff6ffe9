"""The Workday client: resolve customers by WID or reference, fetch everything a group of customers has.

One `WorkdayClient` serves all threads of a process. Customers are resolved with as few `Get_Customers`
calls as possible (`resolution`); customers are fetched in groups, each group's invoices and credit notes
(REST) and payments (SOAP) in as few pages as they fill, split back by customer (`group_fetch`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from types import TracebackType
from typing import Self

import httpx

from sync_engine.domain import Customer, CustomerSnapshot, IdentifierType, Resolution
from sync_engine.errors import WorkdayPermanentError
from sync_engine.settings import WorkdaySettings
from sync_engine.workday.auth import MemoryTokenStore, TokenManager, TokenStore
from sync_engine.workday.calls import INVOICES_SERVICE, WorkdayCalls
from sync_engine.workday.error_answers import raise_for_common
from sync_engine.workday.gate import LocalGate, RequestGate
from sync_engine.workday.group_fetch import GroupFetch, SnapshotSink
from sync_engine.workday.paging import PageSizes
from sync_engine.workday.resolution import CUSTOMERS_PER_REQUEST, resolve_customers
from sync_engine.workday.soap import SoapFault
from sync_engine.workday.soap_requests import build_probe
from sync_engine.workday.transport import RetryPolicy, Transport

__all__ = [
    "CUSTOMERS_PER_GROUP",
    "CUSTOMERS_PER_REQUEST",
    "INVOICES_PAGE_SIZE",
    "MAX_URL_BYTES",
    "OPERATIONS",
    "PAYMENTS_PAGE_SIZE",
    "WorkdayClient",
]

#: `limit` of one invoices page: the REST maximum.
INVOICES_PAGE_SIZE = 100
#: `Count` of one `Get_Customer_Payments` page: the SOAP maximum.
PAYMENTS_PAGE_SIZE = 999

#: Customers fetched together. The REST list names each in the URL (`billToCustomer=` + a 32-character WID
#: + `&`: 48 bytes), so 50 take 2,400 bytes: with the base URL about 2.5 KB, under a third of the 8 KB
#: servers and proxies commonly accept. Fewer when a long base URL would take the URL past `MAX_URL_BYTES`.
CUSTOMERS_PER_GROUP = 50
#: Longest invoices URL we send: half of 8 KB, the other half left to what proxies add.
MAX_URL_BYTES = 4096
_FILTER_BYTES = len("billToCustomer=") + 32 + len("&")
_PAGING_BYTES = len("?limit=100&offset=") + 12

#: The Workday operations a sync calls (the REST invoices list also carries the credit notes).
OPERATIONS = ("Get_Customers", "Get_Customer_Payments", "invoices")

#: The one day a connection check asks for documents of: long before any tenant's receivables, so the
#: answer is empty and cheap whatever the tenant's size.
PROBE_DAY = date(2000, 1, 1)


class WorkdayClient:
    """Workday over HTTP for one tenant; a context manager; thread-safe.

    **Parameters:**
    * `settings` — the Workday connection.
    * `gate` — admits every HTTP attempt; default a `LocalGate` with the settings' limits (one process).
      Give a `RedisGate` when several processes share the tenant.
    * `token_store` — where the OAuth state lives; default this process's memory. Give a
      `RedisTokenStore` when several processes share the credentials.
    * `transport` — an httpx transport (tests).
    * `retry` — retry policy of one request.
    """

    def __init__(
        self,
        settings: WorkdaySettings,
        *,
        gate: RequestGate | None = None,
        token_store: TokenStore | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        gate = gate or LocalGate(settings.max_in_flight, settings.rate_limit)
        self._gate = gate
        self._transport = Transport(settings, gate, retry=retry, transport=transport)
        self._tokens = TokenManager(settings, token_store or MemoryTokenStore(), self._transport)
        self._calls = WorkdayCalls(settings, self._transport, self._tokens)
        # Shared by every fetch of this client: a size Workday broke off stays halved for the rest of the run.
        self._page_sizes = PageSizes(
            {"invoices": settings.invoices_page_size, "Get_Customer_Payments": settings.payments_page_size}
        )
        fits = (MAX_URL_BYTES - len(self._calls.invoices_url) - _PAGING_BYTES) // _FILTER_BYTES
        self._group_size = max(1, min(settings.customers_per_group, CUSTOMERS_PER_GROUP, fits))

    def __repr__(self) -> str:
        return f"WorkdayClient(base_url={self._settings.base_url!r}, tenant={self._settings.tenant!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()
        self._gate.close()

    @property
    def request_counts(self) -> Counter[str]:
        """HTTP attempts so far by operation (a copy).

        Operations: "token", "Get_Customers", "Get_Customer_Payments", "invoices".
        """
        return self._transport.counts

    @property
    def customers_per_group(self) -> int:
        """Customers fetched together: the settings' (at most `CUSTOMERS_PER_GROUP`), fewer if the URL would
        pass `MAX_URL_BYTES`."""
        return self._group_size

    def resolve_customers(self, identifiers: Sequence[str], identifier_type: IdentifierType) -> Resolution:
        """Find the customers the identifiers name; the ones Workday does not know are `unresolved`.

        `found` is keyed by the identifier as given, in the identifiers' order. WIDs are sent as `WID`,
        references as the configured reference ID type.
        """
        settings = self._settings
        return resolve_customers(
            self._calls, settings.api_version, settings.reference_id_type, identifiers, identifier_type
        )

    def fetch_customers(self, customers: Sequence[Customer], on_snapshot: SnapshotSink) -> None:
        """All invoices, credit notes and payments of each customer, handed to `on_snapshot` customer by
        customer as each is complete (never a partial snapshot), in groups of `customers_per_group`.

        The payments are those each customer remitted and, when another customer pays it, those of that
        payer's payments that belong to it (`payers`). Raises what failed; the customers handed over
        before stay handed over.
        """
        unique = list({customer.wid: customer for customer in customers}.values())
        for start in range(0, len(unique), self._group_size):
            group = unique[start : start + self._group_size]
            GroupFetch(self._calls, self._page_sizes, self._settings, group, on_snapshot).run()

    def fetch_customer(self, customer: Customer) -> CustomerSnapshot:
        """All invoices, credit notes and payments of one customer, or an error: never a partial snapshot."""
        snapshots: list[CustomerSnapshot] = []
        self.fetch_customers([customer], snapshots.append)
        [snapshot] = snapshots
        return snapshot

    # ----------------------------------------------------------------------------------------------------
    # Checking the connection

    def refresh_token(self) -> None:
        """Get a new access token now: proves Workday accepts the API client and its refresh token."""
        self._tokens.refresh()

    def probe(self, operation: str) -> None:
        """The cheapest request of one of `OPERATIONS` (one item of page 1 of the narrowest query it takes:
        one Customer_ID, or the documents of `PROBE_DAY`); raises what a sync would."""
        if operation == "invoices":
            day = PROBE_DAY.isoformat()
            params = {"fromInvoiceDate": day, "toInvoiceDate": day, "limit": 1}
            response = self._calls.authorized(operation, "GET", self._calls.invoices_url, params=params)
            raise_for_common(self._settings, response, INVOICES_SERVICE)
            return
        if operation not in OPERATIONS:
            raise ValueError(f"not an operation we call: {operation!r}")
        result = self._calls.soap(operation, build_probe(operation, self._settings.api_version, PROBE_DAY))
        if isinstance(result, SoapFault):
            raise WorkdayPermanentError(f"Workday refused {operation}: {result.describe()}")
