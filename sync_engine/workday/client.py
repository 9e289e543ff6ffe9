"""The Workday client: resolve customers by WID or reference, fetch everything a customer has.

One `WorkdayClient` serves all threads of a process. Customers are resolved with as few `Get_Customers`
calls as possible; a customer is fetched with its invoices and credit notes (REST) and its payments (SOAP)
requested concurrently, every page after the first at once, all bounded by the request gate.
"""

from __future__ import annotations

import contextvars
import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import httpx

from sync_engine.domain import Customer, CustomerSnapshot, IdentifierType, Resolution
from sync_engine.errors import (
    WorkdayConfigurationError,
    WorkdayNotAuthorizedError,
    WorkdayNotFoundError,
    WorkdayPageTooLargeError,
    WorkdayPermanentError,
)
from sync_engine.settings import WorkdaySettings
from sync_engine.workday.auth import MemoryTokenStore, TokenManager, TokenStore
from sync_engine.workday.gate import LocalGate, RequestGate
from sync_engine.workday.paging import InvoiceListRead, PageSizes, PaymentPagesRead, Request
from sync_engine.workday.payers import PaidForOthers, by_owner
from sync_engine.workday.rest import InvoicesPage, parse_error, parse_invoices
from sync_engine.workday.soap import (
    PaymentsPage,
    SoapFault,
    build_get_customer_payments,
    build_get_customers,
    build_probe,
    parse_customers,
    parse_fault,
    parse_payments,
    reference_index,
)
from sync_engine.workday.transport import RetryPolicy, Transport, deadline

__all__ = [
    "CUSTOMERS_PER_REQUEST",
    "INVOICES_PAGE_SIZE",
    "OPERATIONS",
    "PAYMENTS_PAGE_SIZE",
    "WorkdayClient",
    "minimum_requests",
]

logger = logging.getLogger(__name__)

#: References sent in one `Get_Customers` call (and its Count).
CUSTOMERS_PER_REQUEST = 100
#: `limit` of one invoices page: the REST maximum.
INVOICES_PAGE_SIZE = 100
#: `Count` of one `Get_Customer_Payments` page: the SOAP maximum.
PAYMENTS_PAGE_SIZE = 999

#: The Workday operations a sync calls (the REST invoices list also carries the credit notes).
OPERATIONS = ("Get_Customers", "Get_Customer_Payments", "invoices")

#: The one day a connection check asks for documents of: long before any tenant's receivables, so the
#: answer is empty and cheap whatever the tenant's size.
PROBE_DAY = date(2000, 1, 1)

_SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}
# "Invalid ID value. 'CUST-999' is not a valid ID value for type = 'Customer_ID'" → CUST-999
_INVALID_VALUE = re.compile(r"Invalid ID value\.\s+'(.*)' is not a valid ID value", re.DOTALL)
# The last step of an Xpath naming a reference, e.g. `/bsvc:Customer_Reference[2]`.
_REFERENCE_STEP = re.compile(r"/(?:[\w.-]+:)?[\w.-]+_Reference\[\d+\]$")


def minimum_requests(
    references: int,
    documents: Iterable[tuple[int, int]],
    *,
    retry_rounds: int = 0,
    invoices_page_size: int = INVOICES_PAGE_SIZE,
    payments_page_size: int = PAYMENTS_PAGE_SIZE,
) -> int:
    """The fewest HTTP requests a batch can take (wire contract §4) at these page sizes, for benchmarks.

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
        base = settings.base_url.rstrip("/")
        self._soap_url = f"{base}/ccx/service/{settings.tenant}/Revenue_Management/{settings.api_version}"
        self._invoices_url = f"{base}/ccx/api/customerAccounts/v1/{settings.tenant}/invoices"
        # Shared by every fetch of this client: a size Workday broke off stays halved for the rest of the run.
        self._page_sizes = PageSizes(
            {"invoices": settings.invoices_page_size, "Get_Customer_Payments": settings.payments_page_size}
        )
        self._paid_for_others = PaidForOthers()

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

    # ----------------------------------------------------------------------------------------------------
    # Resolving customers

    def resolve_customers(self, identifiers: Sequence[str], identifier_type: IdentifierType) -> Resolution:
        """Find the customers the identifiers name; the ones Workday does not know are `unresolved`.

        `found` is keyed by the identifier as given, in the identifiers' order. WIDs are sent as `WID`,
        references as the configured reference ID type.
        """
        id_type = "WID" if identifier_type is IdentifierType.SOURCE_ID else self._settings.reference_id_type
        sent_as = {identifier: _normalise(identifier, id_type) for identifier in identifiers}
        values = list(dict.fromkeys(sent_as.values()))
        matched: dict[str, Customer] = {}
        for start in range(0, len(values), CUSTOMERS_PER_REQUEST):
            matched.update(self._resolve_batch(values[start : start + CUSTOMERS_PER_REQUEST], id_type))
        found: dict[str, Customer] = {}
        unresolved: list[str] = []
        for identifier, value in sent_as.items():
            if value in matched:
                found[identifier] = matched[value]
            else:
                unresolved.append(identifier)
        return Resolution(found=found, unresolved=unresolved)

    def _resolve_batch(self, values: list[str], id_type: str) -> dict[str, Customer]:
        """Customers by value. A fault naming invalid references drops them and re-asks for the rest; a fault
        we cannot map to references splits the batch in two. No set of references is sent twice."""
        matched: dict[str, Customer] = {}
        pending = [values]
        sent: set[frozenset[str]] = set()
        while pending:
            batch = pending.pop(0)
            if not batch or frozenset(batch) in sent:
                continue
            sent.add(frozenset(batch))
            body = build_get_customers([(id_type, value) for value in batch], self._settings.api_version)
            result = self._soap("Get_Customers", body)
            if not isinstance(result, SoapFault):
                matched.update(_match(batch, parse_customers(result), id_type))
                continue
            if not _names_references(result):
                raise WorkdayPermanentError(f"Workday refused Get_Customers: {result.describe()}")
            invalid = _invalid_positions(result, batch)
            if invalid:
                logger.info("Workday does not know %d of %d customer references.", len(invalid), len(batch))
                pending.append([value for position, value in enumerate(batch, 1) if position not in invalid])
            elif len(batch) > 1:
                logger.info(
                    "Cannot tell which of %d customer references Workday rejected; splitting.", len(batch)
                )
                middle = len(batch) // 2
                pending.extend([batch[:middle], batch[middle:]])
            # else: the one reference of the batch is the invalid one.
        return matched

    # ----------------------------------------------------------------------------------------------------
    # Fetching one customer

    def fetch_customer(self, customer: Customer, *, run: int | None = None) -> CustomerSnapshot:
        """All invoices, credit notes and payments of the customer, or an error: never a partial snapshot.

        The payments are those the customer remitted and, when another customer pays it, those of that
        payer's payments that belong to it (`payers`); a payer's payments are fetched once per `run` in
        this process. Every request, retries included, ends within `customer_deadline`.
        """
        fetched_at = datetime.now(UTC)
        wid = customer.wid
        payer = customer.payer_wid if customer.payer_wid not in (None, wid) else None
        entry, fetch_payer = self._paid_for_others.claim(run, payer) if payer else (None, False)
        remitters = [wid, payer] if payer and fetch_payer else [wid]
        try:
            with deadline(self._settings.customer_deadline) as until:
                as_of = _as_of(fetched_at, self._settings.as_of_lag)
                invoices, payment_reads = self._fetch_pages(wid, remitters, as_of)
            own = payment_reads[wid].result()
            self._paid_for_others.offer(run, wid, by_owner(own, wid))
            payments = [payment for payment, owner in own if owner == wid]
            if payer and entry is not None:
                if fetch_payer:
                    entry.complete(by_owner(payment_reads[payer].result(), payer))
                payments += entry.wait(max(0.0, until - time.monotonic())).get(wid, [])
        finally:
            if fetch_payer and entry is not None and not entry.done.is_set():
                entry.fail()
        invoices_list, credit_notes = invoices.result()
        return CustomerSnapshot(
            customer=customer,
            invoices=invoices_list,
            credit_notes=credit_notes,
            payments=payments,
            fetched_at=fetched_at,
        )

    def _fetch_pages(
        self, wid: str, remitters: list[str], as_of: str
    ) -> tuple[InvoiceListRead, dict[str, PaymentPagesRead]]:
        """The customer's invoice list and each remitter's payments, read to the end.

        Page 1 of each goes out at once; when each tells its total, its other pages go out at once too
        (which pages: `paging`). Every task is one request, so the per-call pool cannot deadlock.
        """
        abort = threading.Event()
        invoices = InvoiceListRead(wid, self._page_sizes)
        payments = {remitter: PaymentPagesRead(remitter, self._page_sizes) for remitter in remitters}
        workers = max(2, self._settings.max_in_flight)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="workday-fetch") as pool:
            # Keyed by the remitter whose payments a request reads; "" for the invoices.
            pending: dict[Future[Any], tuple[str, Request]] = {}

            def submit(key: str, requests: list[Request]) -> None:
                for request in requests:
                    if key:
                        task: Callable[..., Any] = self._payments_page
                        args: tuple[Any, ...] = (key, *request, as_of, abort)
                    else:
                        task, args = self._invoices_page, (wid, *request, abort)
                    # Each request runs in the caller's context: its logs carry the job's run id and WID,
                    # and the customer's deadline holds.
                    pending[pool.submit(contextvars.copy_context().run, task, *args)] = (key, request)

            submit("", invoices.start())
            for remitter in remitters:
                submit(remitter, payments[remitter].start())
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        key, request = pending.pop(future)
                        reader: InvoiceListRead | PaymentPagesRead = payments[key] if key else invoices
                        try:
                            page = future.result()
                        except WorkdayPageTooLargeError:
                            submit(key, reader.too_large(request))
                            continue
                        if isinstance(page, InvoicesPage):
                            submit(key, invoices.page(request, page))
                        else:
                            submit(key, payments[key].page(request, page))
            except BaseException:
                abort.set()
                for future in pending:
                    future.cancel()
                raise
        return invoices, payments

    def _invoices_page(self, wid: str, offset: int, limit: int, abort: threading.Event) -> InvoicesPage:
        params = {"billToCustomer": wid, "limit": limit, "offset": offset}
        response = self._authorized(
            "invoices", "GET", self._invoices_url, params=params, abort=abort, shrinkable=limit > 1
        )
        if response.status_code == 400:
            detail = parse_error(response.content) or "HTTP 400"
            if "Invalid ID value" in detail:
                raise WorkdayNotFoundError(f"Workday does not know customer {wid} ({detail}).")
            raise WorkdayPermanentError(f"Workday refused the invoices of customer {wid}: {detail}.")
        self._transport.raise_for_common(response, "invoices (Customer Accounts REST API)")
        return parse_invoices(response.content)

    def _payments_page(
        self, wid: str, page: int, count: int, as_of: str, abort: threading.Event
    ) -> PaymentsPage:
        body = build_get_customer_payments(
            wid,
            self._settings.api_version,
            page=page,
            count=count,
            as_of_entry=as_of,
        )
        result = self._soap("Get_Customer_Payments", body, abort, shrinkable=count > 1)
        if isinstance(result, SoapFault):
            if _names_references(result):
                raise WorkdayNotFoundError(f"Workday does not know customer {wid} ({result.string}).")
            raise WorkdayPermanentError(
                f"Workday refused Get_Customer_Payments of customer {wid}: {result.describe()}"
            )
        return parse_payments(result)

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
            response = self._authorized(operation, "GET", self._invoices_url, params=params)
            self._transport.raise_for_common(response, "invoices (Customer Accounts REST API)")
            return
        if operation not in OPERATIONS:
            raise ValueError(f"not an operation we call: {operation!r}")
        result = self._soap(operation, build_probe(operation, self._settings.api_version, PROBE_DAY))
        if isinstance(result, SoapFault):
            raise WorkdayPermanentError(f"Workday refused {operation}: {result.describe()}")

    # ----------------------------------------------------------------------------------------------------
    # Requests

    def _authorized(
        self, operation: str, method: str, url: str, *, abort: threading.Event | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send with the access token; when Workday rejects it (401, or a 403 that a token minted before a
        change of the API client's scopes also gets), once more with a fresh one. A 403 that the fresh
        token gets too is the caller's: a permission the integration user lacks."""
        headers: dict[str, str] = kwargs.pop("headers", {})
        token = self._tokens.token()
        for attempt in range(2):
            response = self._transport.request(
                operation,
                method,
                url,
                headers={**headers, "Authorization": f"Bearer {token}"},
                abort=abort,
                **kwargs,
            )
            forbidden = response.status_code == 403
            if not forbidden and not _authentication_failed(response):
                return response
            if attempt == 0:
                logger.info(
                    "Workday %s the access token for %s; refreshing it.",
                    "refused (HTTP 403)" if forbidden else "rejected",
                    operation,
                )
                token = self._tokens.rejected(token)
            elif forbidden:
                return response
        raise WorkdayConfigurationError(
            f"Workday is not connected: it rejected a freshly issued access token for {operation}; "
            "check that the API client is active and has the scopes this service needs."
        )

    def _soap(
        self, operation: str, body: bytes, abort: threading.Event | None = None, *, shrinkable: bool = False
    ) -> bytes | SoapFault:
        """The response body, or a `Client.validationError` fault naming references for the caller to read."""
        response = self._authorized(
            operation,
            "POST",
            self._soap_url,
            content=body,
            headers=_SOAP_HEADERS,
            abort=abort,
            shrinkable=shrinkable,
        )
        if response.status_code == 200:
            return response.content
        fault = parse_fault(response.content) if response.status_code == 500 else None
        if fault is None:
            self._transport.raise_for_common(response, operation)
            raise WorkdayPermanentError(f"Workday answered {operation} with HTTP {response.status_code}.")
        # Decided by fault code and Xpath: Workday words its faults in the integration user's language.
        if fault.is_processing:
            # The transport retried it a few times (unless it said so in English): it stays.
            every_time = "" if fault.not_authorized else " (the same processing error on every attempt)"
            raise WorkdayNotAuthorizedError(
                f"The integration user is not authorized for {operation}{every_time}: grant its security "
                "group Get access to that web service in Workday, then activate pending security policy "
                f"changes (Workday said: {fault.processing_message or fault.string})."
            )
        if fault.is_validation and _names_references(fault):
            return fault
        if fault.is_validation and not any(error.xpath for error in fault.validation_errors):
            # Nothing of the request is named: the request as a whole (service or version) was refused.
            raise WorkdayConfigurationError(
                f"Workday does not accept Revenue_Management {self._settings.api_version} for "
                f"{operation}; set WORKDAY_API_VERSION to a version the tenant supports "
                f"(Workday said: {fault.string})."
            )
        raise WorkdayPermanentError(f"Workday refused {operation}: {fault.describe()}")


# --------------------------------------------------------------------------------------------------------
# Helpers (pure)


def _as_of(now: datetime, lag: float) -> str:
    """The As_Of_Entry_DateTime of every page of one fetch: `lag` seconds before `now`, in UTC. Our own
    moment, never Workday's echo (real responses may echo no Response_Filter); microseconds, so a record
    entered just before it is not cut off by rounding."""
    return (now - timedelta(seconds=lag)).astimezone(UTC).isoformat(timespec="microseconds")


def _normalise(identifier: str, id_type: str) -> str:
    """The value sent for an identifier: WIDs are lowercase hex."""
    return identifier.lower() if id_type == "WID" else identifier


def _key(customer: Customer, id_type: str) -> str | None:
    if id_type == "WID":
        return customer.wid.lower()
    if id_type == "Customer_Reference_ID":
        return customer.customer_reference_id
    return customer.customer_id


def _match(batch: list[str], customers: list[Customer], id_type: str) -> dict[str, Customer]:
    """Customers by the value that asked for them, matched by the ID of that type Workday returned for each
    (ignoring case, as Workday looks references up); Workday promises no order, so a value no returned
    customer carries stays unmatched (unresolved), never guessed."""
    by_key: dict[str, Customer] = {}
    for customer in customers:
        key = _key(customer, id_type)
        if key:
            by_key.setdefault(key.casefold(), customer)
    return {value: by_key[value.casefold()] for value in batch if value.casefold() in by_key}


def _authentication_failed(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    if response.status_code != 500:
        return False
    fault = parse_fault(response.content)
    return fault is not None and fault.is_authentication


def _names_references(fault: SoapFault) -> bool:
    """Whether a validation fault rejects references (IDs that name nothing): an error's Xpath ends at a
    `*_Reference[n]`; Workday's English wording is only a last hint."""
    if any(_REFERENCE_STEP.search(error.xpath or "") for error in fault.validation_errors):
        return True
    messages = (error.message or error.detail_message or "" for error in fault.validation_errors)
    return any("Invalid ID value" in text for text in (fault.string, *messages))


def _invalid_positions(fault: SoapFault, batch: list[str]) -> set[int]:
    """1-based positions of the references the fault names, or an empty set unless every error maps to a
    reference whose value the error message (if it quotes one) agrees with."""
    positions: set[int] = set()
    for error in fault.validation_errors:
        position = reference_index(error.xpath, "Customer_Reference")
        if position is None or not 1 <= position <= len(batch):
            return set()
        quoted = _INVALID_VALUE.search(error.message or error.detail_message or "")
        if quoted is not None and quoted.group(1).strip() != batch[position - 1]:
            return set()
        positions.add(position)
    return positions
