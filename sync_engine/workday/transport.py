"""HTTP to Workday: one `httpx.Client`, every attempt through the gate, and retries of what may pass.

A throttled answer also lowers the tenant's rate in the gate (`RequestGate.throttled`), for every process
sharing it. Retried, with exponential backoff and jitter: HTTP 429, 502, 503 and 504, timeouts and broken
connections, HTTP 500 whose body is not a SOAP fault (how Workday throttles SOAP) or is a `Server.*`
fault, and, a few times only, `Server.processingError` faults (Workday's word for transient trouble as for
a missing permission; a fault that stays is returned for the caller to read). Everything else is the
caller's to read: a SOAP `Client.*` fault is never retried (Workday penalises clients that repeat invalid
requests).

A hung Workday must not hold the tenant's in-flight slots, shared by every run: an attempt waits
`contended_timeout` instead of `timeout` when other requests are waiting for a slot, a request that got
no answer `unanswered_attempts` times in a row ends with `WorkdayUnresponsiveError`, and a caller's
`deadline()` bounds every attempt and backoff of the requests made within it.

A page request may say that a smaller page would do (`shrinkable`): Workday aborts requests that would
return too much data, so a page broken off after it was sent, or timed out while Workday still answers
other requests, is not sent again as it was; it raises `WorkdayPageTooLargeError` at once for the caller
to ask for a smaller page. A timeout is read that way only while Workday answers: once the tenant's last
`unanswered_attempts` attempts (across requests) all got nothing, it is hung, whatever the page size.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, retry_if_not_exception_type

from sync_engine import metrics
from sync_engine.errors import (
    WorkdayConfigurationError,
    WorkdayPageTooLargeError,
    WorkdayTransientError,
    WorkdayUnresponsiveError,
)
from sync_engine.settings import WorkdaySettings
from sync_engine.workday.gate import RequestGate
from sync_engine.workday.soap import parse_fault

__all__ = ["RetryPolicy", "Transport", "deadline"]

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
    #: Attempts in a row without any answer (timeouts) after which Workday counts as stopped answering.
    unanswered_attempts: int = 3
    #: Attempts in all at a request answered with `Server.processingError` (transient, or not authorized).
    processing_attempts: int = 3

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


class _Unanswered(_Retry):
    """Workday took the request and answered nothing in time."""


class _OutOfTime(_Retry):
    """The caller's deadline passed before this attempt could start."""


class _Processing(_Retry):
    """A `Server.processingError` fault: retried a few times, then handed to the caller to classify."""

    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(message, response.status_code)
        self.response = response


class _BrokenOff(_Retry):
    """A shrinkable page timed out or was cut off after it was sent: maybe too much data for Workday."""


class _Aborted(Exception):
    """The caller gave up on this request (another part of the same fetch failed)."""


# The monotonic time by which the requests of the current task (a customer's fetch) must be done.
_deadline: ContextVar[float | None] = ContextVar("workday_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Bound every request made in this context (and in contexts copied from it) to `seconds` from now,
    retries and backoff included; yields the monotonic deadline."""
    until = time.monotonic() + seconds
    earlier = _deadline.get()
    token = _deadline.set(until if earlier is None else min(earlier, until))
    try:
        yield until
    finally:
        _deadline.reset(token)


@dataclass(slots=True)
class _Tally:
    """How one request's attempts went so far."""

    attempts: int = 0
    #: Attempts of this request in a row that got no answer.
    unanswered: int = 0
    processing: int = 0


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
        #: The tenant's last attempts, across requests, that got no answer (`_unanswered`).
        self._unanswered_in_a_row = 0

    def __repr__(self) -> str:
        return f"Transport(base_url={self._settings.base_url!r}, tenant={self._settings.tenant!r})"

    @property
    def counts(self) -> Counter[str]:
        """HTTP attempts so far by operation (a copy)."""
        with self._counts_lock:
            return Counter(self._counts)

    def close(self) -> None:
        self._http.close()

    def _unanswered(self, step: int) -> int:
        """Count one more unanswered attempt (`step` 1) or an answer (0); returns the count in a row."""
        with self._counts_lock:
            self._unanswered_in_a_row = self._unanswered_in_a_row + 1 if step else 0
            return self._unanswered_in_a_row

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
        until = _deadline.get()
        tally = _Tally()

        def stop(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome is not None else None
            return (
                state.attempt_number >= policy.attempts
                or isinstance(error, _OutOfTime)
                or (isinstance(error, _Unanswered) and tally.unanswered >= policy.unanswered_attempts)
                or (isinstance(error, _Processing) and tally.processing >= policy.processing_attempts)
                or (until is not None and time.monotonic() >= until)
            )

        def wait(state: RetryCallState) -> float:
            seconds = policy.wait(state)
            return seconds if until is None else max(0.0, min(seconds, until - time.monotonic()))

        retrying = Retrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception_type(_Retry) & retry_if_not_exception_type(_BrokenOff),
            before_sleep=lambda state: self._log_retry(operation, state),
            sleep=_sleeper(abort),
            reraise=True,
        )
        try:
            return retrying(
                self._counted_attempt,
                *(operation, method, url, headers, abort, shrinkable, until, tally, kwargs),
            )
        except _BrokenOff as broken:
            raise WorkdayPageTooLargeError(
                f"Workday {operation} broke off a page ({broken}); a smaller page may pass.",
                status=broken.status,
            ) from None
        except _Processing as last:
            return last.response
        except _Retry as last:
            if isinstance(last, _Unanswered):
                raise WorkdayUnresponsiveError(
                    f"Workday stopped answering: {operation} got no response to {tally.unanswered} "
                    f"attempt(s) in a row (last: {last}) at {self._settings.base_url}. "
                    "Try again once Workday answers.",
                ) from None
            if isinstance(last, _OutOfTime) or (until is not None and time.monotonic() >= until):
                raise WorkdayTransientError(
                    f"Workday {operation} did not succeed within the fetch's time limit "
                    f"(WORKDAY_CUSTOMER_DEADLINE, {self._settings.customer_deadline:g} s for every request "
                    f"of the customers fetched together, retries included) after {tally.attempts} "
                    "attempt(s); Workday is throttling us or slow, try again later.",
                ) from None
            raise WorkdayTransientError(
                f"Workday {operation} failed {tally.attempts} times in a row (last: {last}); Workday is "
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
        until: float | None,
        tally: _Tally,
        kwargs: dict[str, Any],
    ) -> httpx.Response:
        if abort is not None and abort.is_set():
            raise _Aborted
        # Failures after the request went out: what Workday does to a page that holds too much data.
        broken_off = _BrokenOff if shrinkable else _Retry
        with self._gate.slot() as contended:
            timeout = self._settings.timeout
            if contended:
                # Others wait for this slot: a Workday that answers nothing in this long holds them all.
                timeout = min(timeout, self._settings.contended_timeout)
            if until is not None:
                timeout = min(timeout, until - time.monotonic())
                if timeout <= 0:
                    raise _OutOfTime("the time limit passed before this attempt")
            with self._counts_lock:
                self._counts[operation] += 1
            tally.attempts += 1
            try:
                response = self._http.request(method, url, headers=headers, timeout=timeout, **kwargs)
            except httpx.TimeoutException as error:
                tally.unanswered += 1
                answering = self._unanswered(+1) < self._retry.unanswered_attempts
                message = f"{type(error).__name__} after {timeout:.3g} s"
                sent = not isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout)
                if shrinkable and sent and answering:
                    raise _BrokenOff(message) from None
                raise _Unanswered(message) from None
            except httpx.UnsupportedProtocol:
                raise WorkdayConfigurationError(
                    f"Workday base URL {self._settings.base_url!r} is not an http(s) URL; "
                    "check WORKDAY_BASE_URL."
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError) as error:
                tally.unanswered = self._unanswered(0)  # Workday answered, if not in full
                raise broken_off(f"{type(error).__name__}: {error}") from None
            except httpx.TransportError as error:
                tally.unanswered = self._unanswered(0)
                raise _Retry(f"{type(error).__name__}: {error}") from None
        tally.unanswered = self._unanswered(0)
        status = response.status_code
        if status == 504:
            raise broken_off("HTTP 504", status)
        if status == 429:
            raise self._throttled("HTTP 429", status)
        if status in RETRY_STATUSES:
            raise _Retry(f"HTTP {status}", status)
        if status == 500:
            fault = parse_fault(response.content)
            if fault is None:
                raise self._throttled("HTTP 500 without a SOAP fault", status)
            if fault.is_processing and not fault.not_authorized:
                tally.processing += 1
                raise _Processing(f"SOAP fault {fault.describe()}", response)
            if fault.code.startswith("Server") and not fault.is_processing:
                raise _Retry(f"SOAP fault {fault.describe()}", status)
        return response

    def _throttled(self, message: str, status: int) -> _Throttled:
        """Workday said we are too fast: every process sharing the tenant's gate slows down."""
        self._gate.throttled()
        return _Throttled(message, status)

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


def _sleeper(abort: threading.Event | None) -> Callable[[float], None]:
    """Backoff sleep that ends early when `abort` is set."""
    if abort is None:
        return time.sleep

    def sleep(seconds: float) -> None:
        abort.wait(seconds)

    return sleep
