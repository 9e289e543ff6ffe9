"""What an error answer from Workday means for an admin: the one message that says what to fix (pure)."""

from __future__ import annotations

import httpx

from sync_engine.errors import WorkdayConfigurationError, WorkdayNotAuthorizedError, WorkdayPermanentError
from sync_engine.settings import WorkdaySettings
from sync_engine.workday.rest import parse_error

__all__ = ["raise_for_common"]


def raise_for_common(settings: WorkdaySettings, response: httpx.Response, operation: str) -> None:
    """Raise the error an admin can act on for a failed response (tenant, permission, refusal)."""
    status = response.status_code
    if status < 400:
        return
    detail = parse_error(response.content)
    if status == 404:
        # Say what was not found: on REST it is as often a service the tenant has not enabled as a
        # wrong tenant or host.
        path = response.request.url.path
        said = f" (Workday said: {detail})" if detail else ""
        cause = (
            "the Customer Accounts REST API may not be enabled for the tenant (ask its Workday admin "
            "to enable the service and the API client's Customer Accounts scope), or "
            if "/ccx/api/" in path
            else ""
        )
        raise WorkdayConfigurationError(
            f"Workday found no resource {path} for {operation} (HTTP 404){said}: {cause}tenant "
            f"{settings.tenant!r} is not served by {settings.base_url}; check WORKDAY_TENANT and "
            "WORKDAY_BASE_URL."
        )
    if status == 403:
        raise WorkdayNotAuthorizedError(
            f"The integration user is not authorized for {operation}: grant its security group access "
            f"to that task in Workday (Workday said: {detail or 'HTTP 403'})."
        )
    raise WorkdayPermanentError(
        f"Workday refused {operation}: HTTP {status} ({detail or response.reason_phrase})."
    )
