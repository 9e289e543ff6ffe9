"""One Workday call as the sync needs it: the access token attached (and refreshed once when Workday
rejects it), SOAP faults classified, error answers worded for an admin, and the two paged operations of a
fetch (a REST invoices page, a `Get_Customer_Payments` page) for any number of customers.

Faults are classified by fault code and `Validation_Error` Xpath, never by their words: Workday writes
them in the integration user's language; the English texts are only a last hint.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from typing import Any

import httpx

from sync_engine.errors import (
    WorkdayConfigurationError,
    WorkdayNotAuthorizedError,
    WorkdayNotFoundError,
    WorkdayPermanentError,
)
from sync_engine.settings import WorkdaySettings
from sync_engine.workday.auth import TokenManager
from sync_engine.workday.error_answers import raise_for_common
from sync_engine.workday.paging import subject
from sync_engine.workday.rest import InvoicesPage, parse_error, parse_invoices
from sync_engine.workday.soap import PaymentsPage, SoapFault, parse_fault, parse_payments
from sync_engine.workday.soap_requests import build_get_customer_payments
from sync_engine.workday.transport import Transport

__all__ = ["INVOICES_SERVICE", "WorkdayCalls", "names_references"]

logger = logging.getLogger(__name__)

#: How the REST invoices resource is named in messages.
INVOICES_SERVICE = "invoices (Customer Accounts REST API)"

_SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}
# The last step of an Xpath naming a reference, e.g. `/bsvc:Customer_Reference[2]`.
_REFERENCE_STEP = re.compile(r"/(?:[\w.-]+:)?[\w.-]+_Reference\[\d+\]$")


class WorkdayCalls:
    """Authorized calls to one tenant over a `Transport`; thread-safe."""

    def __init__(self, settings: WorkdaySettings, transport: Transport, tokens: TokenManager) -> None:
        self._settings = settings
        self._transport = transport
        self._tokens = tokens
        base = settings.base_url.rstrip("/")
        self.soap_url = f"{base}/ccx/service/{settings.tenant}/Revenue_Management/{settings.api_version}"
        self.invoices_url = f"{base}/ccx/api/customerAccounts/v1/{settings.tenant}/invoices"

    # ----------------------------------------------------------------------------------------------------
    # The paged operations of a fetch

    def invoices_page(
        self, customer_wids: Sequence[str], offset: int, limit: int, abort: threading.Event | None = None
    ) -> InvoicesPage:
        """One page of the invoices and credit notes billed to any of the customers (`billToCustomer`
        repeated, as the resource takes it)."""
        params = [("billToCustomer", wid) for wid in customer_wids]
        params += [("limit", str(limit)), ("offset", str(offset))]
        response = self.authorized(
            "invoices", "GET", self.invoices_url, params=params, abort=abort, shrinkable=limit > 1
        )
        if response.status_code == 400:
            detail = parse_error(response.content) or "HTTP 400"
            who = subject(list(customer_wids))
            if "Invalid ID value" in detail:
                raise WorkdayNotFoundError(f"Workday does not know {who} ({detail}).")
            raise WorkdayPermanentError(f"Workday refused the invoices of {who}: {detail}.")
        raise_for_common(self._settings, response, INVOICES_SERVICE)
        return parse_invoices(response.content)

    def payments_page(
        self,
        remitter_wids: Sequence[str],
        page: int,
        count: int,
        as_of: str,
        abort: threading.Event | None = None,
    ) -> PaymentsPage:
        """One page of the payments the customers remitted (`Remit-from_Customer_Reference` 0..n)."""
        body = build_get_customer_payments(
            remitter_wids, self._settings.api_version, page=page, count=count, as_of_entry=as_of
        )
        result = self.soap("Get_Customer_Payments", body, abort, shrinkable=count > 1)
        if isinstance(result, SoapFault):
            who = subject(list(remitter_wids))
            if names_references(result):
                raise WorkdayNotFoundError(f"Workday does not know {who} ({result.string}).")
            raise WorkdayPermanentError(
                f"Workday refused Get_Customer_Payments of {who}: {result.describe()}"
            )
        return parse_payments(result)

    # ----------------------------------------------------------------------------------------------------
    # Requests

    def authorized(
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

    def soap(
        self, operation: str, body: bytes, abort: threading.Event | None = None, *, shrinkable: bool = False
    ) -> bytes | SoapFault:
        """The response body, or a `Client.validationError` fault naming references for the caller to read."""
        response = self.authorized(
            operation,
            "POST",
            self.soap_url,
            content=body,
            headers=_SOAP_HEADERS,
            abort=abort,
            shrinkable=shrinkable,
        )
        if response.status_code == 200:
            return response.content
        fault = parse_fault(response.content) if response.status_code == 500 else None
        if fault is None:
            raise_for_common(self._settings, response, operation)
            raise WorkdayPermanentError(f"Workday answered {operation} with HTTP {response.status_code}.")
        if fault.is_processing:
            # The transport retried it a few times (unless it said so in English): it stays.
            every_time = "" if fault.not_authorized else " (the same processing error on every attempt)"
            raise WorkdayNotAuthorizedError(
                f"The integration user is not authorized for {operation}{every_time}: grant its security "
                "group Get access to that web service in Workday, then activate pending security policy "
                f"changes (Workday said: {fault.processing_message or fault.string})."
            )
        if fault.is_validation and names_references(fault):
            return fault
        if fault.is_validation and not any(error.xpath for error in fault.validation_errors):
            # Nothing of the request is named: the request as a whole (service or version) was refused.
            raise WorkdayConfigurationError(
                f"Workday does not accept Revenue_Management {self._settings.api_version} for "
                f"{operation}; set WORKDAY_API_VERSION to a version the tenant supports "
                f"(Workday said: {fault.string})."
            )
        raise WorkdayPermanentError(f"Workday refused {operation}: {fault.describe()}")


def names_references(fault: SoapFault) -> bool:
    """Whether a validation fault rejects references (IDs that name nothing): an error's Xpath ends at a
    `*_Reference[n]`; Workday's English wording is only a last hint."""
    if any(_REFERENCE_STEP.search(error.xpath or "") for error in fault.validation_errors):
        return True
    messages = (error.message or error.detail_message or "" for error in fault.validation_errors)
    return any("Invalid ID value" in text for text in (fault.string, *messages))


def _authentication_failed(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    if response.status_code != 500:
        return False
    fault = parse_fault(response.content)
    return fault is not None and fault.is_authentication
