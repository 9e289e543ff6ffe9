"""HTTP to Workday: one `httpx.Client`, every attempt through the gate, and retries of what may pass.

Retried, with exponential backoff and jitter: HTTP 429, 502, 503 and 504, timeouts and broken
connections, and HTTP 500 whose body is not a SOAP fault (how Workday throttles SOAP) or is a `Server.*`
fault other than a processing error. Everything else is the caller's to read: a SOAP `Client.*` fault is
never retried (Workday penalises clients that repeat invalid requests).

A page request may say that a smaller page would do (`shrinkable`): Workday aborts requests that would
return too much data, so a page timed out or broken off after it was sent is not sent again as it was; it
raises `WorkdayPageTooLargeError` at once for the caller to ask for a smaller page.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
)

from sync_engine import metrics
from sync_engine.errors import (
    WorkdayConfigurationError,
    WorkdayNotAuthorizedError,
    WorkdayPageTooLargeError,
    WorkdayPermanentError,
    WorkdayTransientError,
)
from sync_engine.settings import WorkdaySettings
from sync_engine.workday.gate import RequestGate
from sync_engine.workday.rest import parse_error
from sync_engine.workday.soap import parse_fault

__all__ = ["RetryPolicy", "Transport"]

logger = logging.getLogger(__name__)

#: HTTP statuses that mean "not now": throttled, or a gateway in front of Workday failed.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently one request is retried (seconds)."""

    #: Attempts in all, the first included.
    attempts: int = 6
    #: Wait before the second attempt; it doubles with every further attempt, plus up to as much jitter.
    initial_wait: float = 0.5
    #: Longest wait between two attempts.
    max_wait: float = 30.0

    def wait(self, state: RetryCallState) -> float:
        """Seconds before the next attempt: exponential from `initial_wait`, jittered, capped."""
        exponential = self.initial_wait * 2.0 ** (state.attempt_number - 1)
        return min(self.max_wait, exponential + random.uniform(0, self.initial_wait))


class _Retry(Exception):
    """This attempt failed in a way the same request may get past."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _Throttled(_Retry):
    """Workday is throttling us: HTTP 429, or HTTP 500 without a SOAP fault (how SOAP says it)."""


class _BrokenOff(_Retry):
    """A shrinkable page timed out or was cut off after it was sent: maybe too much data for Workday."""


class _Aborted(Exception):
    """The caller gave up on this request (another part of the same fetch failed)."""


class Transport:
    """Sends requests to one Workday tenant. Thread-safe."""

    def __init__(
        self,
        settings: WorkdaySettings,
        gate: RequestGate,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._gate = gate
        self._retry = retry or RetryPolicy()
        connections = max(1, settings.max_in_flight)
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            headers={"User-Agent": "workday-resync"},
        )
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport(base_url={self._settings.base_url!r}, tenant={self._settings.tenant!r})"

    @property
    def counts(self) -> Counter[str]:
        """HTTP attempts so far by operation (a copy)."""
        with self._counts_lock:
            return Counter(self._counts)

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        abort: threading.Event | None = None,
        shrinkable: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send until a response that is not worth retrying; `WorkdayTransientError` once attempts run out.

        `kwargs` go to `httpx.Client.request` (params, content, data, auth). When `abort` is set, no
        further attempt starts and backoff sleeps end at once. When `shrinkable`, a response that times
        out or is cut off (or a gateway's 504) raises `WorkdayPageTooLargeError` without a retry.
        """
        policy = self._retry
        retrying = Retrying(
            stop=stop_after_attempt(policy.attempts),
            wait=policy.wait,
            retry=retry_if_exception_type(_Retry) & retry_if_not_exception_type(_BrokenOff),
            before_sleep=lambda state: self._log_retry(operation, state),
            sleep=_sleeper(abort),
            reraise=True,
        )
        try:
            return retrying(self._counted_attempt, operation, method, url, headers, abort, shrinkable, kwargs)
        except _BrokenOff as broken:
            raise WorkdayPageTooLargeError(
                f"Workday {operation} broke off a page ({broken}); a smaller page may pass.",
                status=broken.status,
            ) from None
        except _Retry as last:
            raise WorkdayTransientError(
                f"Workday {operation} failed {policy.attempts} times in a row (last: {last}); Workday is "
                f"throttling us or unreachable at {self._settings.base_url}, try again later.",
                status=last.status,
            ) from None
        except _Aborted:
            raise WorkdayTransientError(
                f"Workday {operation} was abandoned: another request failed."
            ) from None

    def _counted_attempt(self, operation: str, *args: Any) -> httpx.Response:
        """`_attempt`, counted in the metrics by how it ended (not when it never reached Workday)."""
        started = time.monotonic()
        try:
            response = self._attempt(operation, *args)
        except _Retry as retry:
            outcome: metrics.WorkdayOutcome = "throttled" if isinstance(retry, _Throttled) else "retried"
            metrics.workday_request(operation, outcome, time.monotonic() - started)
            raise
        metrics.workday_request(
            operation, "fault" if response.status_code >= 400 else "ok", time.monotonic() - started
        )
        return response

    def _attempt(
        self,
        operation: str,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        abort: threading.Event | None,
        shrinkable: bool,
        kwargs: dict[str, Any],
    ) -> httpx.Response:
        if abort is not None and abort.is_set():
            raise _Aborted
        # Failures after the request went out: what Workday does to a page that holds too much data.
        broken_off = _BrokenOff if shrinkable else _Retry
        with self._gate.slot():
            with self._counts_lock:
                self._counts[operation] += 1
            try:
                response = self._http.request(method, url, headers=headers, **kwargs)
            except (httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                raise _Retry(f"{type(error).__name__} after {self._settings.timeout:g} s") from None
            except httpx.TimeoutException as error:
                raise broken_off(f"{type(error).__name__} after {self._settings.timeout:g} s") from None
            except httpx.UnsupportedProtocol:
                raise WorkdayConfigurationError(
                    f"Workday base URL {self._settings.base_url!r} is not an http(s) URL; "
                    "check WORKDAY_BASE_URL."
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError) as error:
                raise broken_off(f"{type(error).__name__}: {error}") from None
            except httpx.TransportError as error:
                raise _Retry(f"{type(error).__name__}: {error}") from None
        status = response.status_code
        if status == 504:
            raise broken_off("HTTP 504", status)
        if status in RETRY_STATUSES:
            raise (_Throttled if status == 429 else _Retry)(f"HTTP {status}", status)
        if status == 500:
            fault = parse_fault(response.content)
            if fault is None:
                raise _Throttled("HTTP 500 without a SOAP fault", status)
            if fault.code.startswith("Server") and not fault.is_processing:
                raise _Retry(f"SOAP fault {fault.describe()}", status)
        return response

    @staticmethod
    def _log_retry(operation: str, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        metrics.workday_retry(operation)
        logger.warning(
            "Workday %s attempt %d failed (%s); retrying in %.1f s.",
            operation,
            state.attempt_number,
            error,
            wait,
            extra={"operation": operation, "attempt": state.attempt_number, "wait_seconds": round(wait, 2)},
        )

    def raise_for_common(self, response: httpx.Response, operation: str) -> None:
        """Raise the error an admin can act on for a failed response (tenant, permission, refusal)."""
        status = response.status_code
        if status < 400:
            return
        settings = self._settings
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


def _sleeper(abort: threading.Event | None) -> Callable[[float], None]:
    """Backoff sleep that ends early when `abort` is set."""
    if abort is None:
        return time.sleep

    def sleep(seconds: float) -> None:
        abort.wait(seconds)

    return sleep
