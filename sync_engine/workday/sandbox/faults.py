"""The sandbox's knobs (latency, throttling, faults, token behaviour) and the machinery that applies them.

Knobs are read on every request, so tests change them on a running sandbox. Random faults come from one
`random.Random(fault_seed)`: a client that sends its requests one after another sees the same faults on every
run (concurrent requests draw in whatever order the threads arrive).
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

__all__ = [
    "DEFAULT_HANG_SECONDS",
    "FaultDice",
    "RateLimiter",
    "SandboxKnobs",
    "SlidingWindowLimiter",
    "knobs_from",
]

#: How long a simulated timeout holds the response: past our client's default timeout of 120 s.
DEFAULT_HANG_SECONDS = 130.0


@dataclass(slots=True)
class SandboxKnobs:
    """Live settings of a running sandbox; change them at any time."""

    #: Seconds added to every request.
    latency: float = 0.0
    #: Requests per second per tenant (token requests excepted); None = no limit. Beyond it REST answers 429
    #: and SOAP a plain HTTP 500. A token bucket holding one second of requests: bursts up to the rate pass.
    rate_limit: float | None = None
    #: At most this many requests per tenant (token requests excepted) in ANY sliding second; None = off.
    #: Beyond it REST answers 429 (no Retry-After, as Workday) and SOAP a plain HTTP 500 without a fault. No
    #: bucket: arrivals closer than the limit allows are refused however quiet the tenant was before. Only
    #: admitted requests count, so a refused one does not push the next window out.
    strict_rate_limit: int | None = None
    #: Share of REST requests answered 429 (0..1).
    rest_429_rate: float = 0.0
    #: Share of SOAP requests answered with a plain (non-SOAP) HTTP 500 (0..1).
    soap_500_rate: float = 0.0
    #: Share of API requests held for `hang_seconds` (past the client's timeout), then answered 504.
    timeout_rate: float = 0.0
    hang_seconds: float = DEFAULT_HANG_SECONDS
    #: Seconds added to page 1 of Get_Customer_Payments (Workday builds its page cache then).
    slow_page_seconds: float = 0.0
    #: Seconds added to page 1 of a query (REST invoices, Get_Customers, Get_Customer_Payments) per document
    #: or customer it matches over all pages: Workday builds the whole result set then, so a query over a
    #: whole tenant is slow however small its page.
    seconds_per_result: float = 0.0
    #: Lifetime of new access tokens, in seconds.
    token_lifetime: float = 3600.0
    #: Whether a refresh grant also returns a new refresh token (the old one then lasts `rotation_grace`).
    rotate_refresh_tokens: bool = False
    #: Seconds a rotated-out refresh token keeps working.
    rotation_grace: float = 60.0
    #: The API client's grant is revoked: refresh grants fail with invalid_grant, access tokens are rejected.
    revoked: bool = False
    #: Operations the API client may not call: "Get_Customers", "Get_Customer_Payments", "invoices".
    unauthorized_operations: set[str] = field(default_factory=set)
    #: Customer WIDs the API client's security group may not see the payments of: Get_Customer_Payments
    #: answers an invalid-ID validation fault for them (their invoices still come), so each fails alone.
    hidden_payments_of: set[str] = field(default_factory=set)
    #: The API client's scopes changed: access tokens issued before the knob was first seen on are answered
    #: HTTP 403 on REST (a fresh token works), as Workday does for a token minted under the old scopes.
    stale_token_scopes: bool = False
    #: The Customer Accounts REST service is not enabled for the tenant: its resources answer HTTP 404.
    rest_service_disabled: bool = False
    #: Every n-th document of a REST invoice list (0: none) is counted in `total` and keeps its place on
    #: its page but is not returned, as documents the integration user may not see: pages come short and
    #: the count never adds up.
    rest_invisible_every: int = 0
    #: The next n REST invoice pages past a list's first are served from the list in another order (a
    #: seeded shuffle), as a list without a sort may come; the sandbox counts the knob down to 0.
    rest_order_moves: int = 0
    #: Largest response body in bytes (None: no limit). Workday "will abort any requests that would return
    #: too much data" (its only public word on it, via CData); the sandbox sends the status, the headers
    #: and this many bytes of a larger REST or SOAP body, then closes the connection.
    max_response_bytes: int | None = None
    #: How REST amounts are written: "object" `{"value", "currency": "USD"}`, "number", "string",
    #: "reference" `{"value", "currency": {"id", "descriptor"}}`, or "mixed" (each document one of them).
    amount_shape: str = "object"
    #: Whether REST invoices carry their own `currency` field (else only their amounts may name it).
    document_currency: bool = True
    #: REST adjustments carry `totalAmount` 0, their figures only in net, tax and due amounts (the current
    #: spec: "When the reporting transaction is not an instance of a customer invoice, the amount value is
    #: zero").
    zero_adjustment_totals: bool = False
    #: SOAP responses echo no Response_Filter (real responses often do not).
    omit_response_filter: bool = False
    #: A Get_Customer_Payments page after the first without As_Of_Entry_DateTime is a validation fault.
    require_as_of_on_pages: bool = False
    #: Customer_ID and Customer_Reference_ID references match whatever their case (Workday: "Ignore Case").
    references_ignore_case: bool = False
    #: Get_Customers answers in reverse request order (Workday promises no order).
    reverse_response_order: bool = False
    #: Language of SOAP fault texts: "en", "de" or "fr" (the integration user's locale).
    fault_locale: str = "en"
    #: Share of SOAP requests answered with a transient Server.processingError (0..1).
    processing_fault_rate: float = 0.0
    #: Seed of the random faults.
    fault_seed: int = 0
    #: A query naming several customers (REST `billToCustomer` repeated, SOAP `Remit-from_Customer_Reference`
    #: 0..n) lists their documents interleaved, one of each customer in turn, instead of customer by
    #: customer: Workday promises no order, so a customer's documents may be spread over every page.
    interleave_customers: bool = False


def knobs_from(settings: Iterable[str], **defaults: object) -> SandboxKnobs:
    """Knobs from `NAME=VALUE` strings (the command line): numbers, booleans (true/false), text, and sets
    as comma-separated names; `ValueError` naming a bad one."""
    knobs = SandboxKnobs(**defaults)  # type: ignore[arg-type]
    # A knob off by None takes the number its annotation names (`int | None`, `float | None`).
    plain = SandboxKnobs()
    kinds: dict[str, type] = {
        knob.name: (int if str(knob.type).startswith("int") else float)
        if getattr(plain, knob.name) is None
        else type(getattr(plain, knob.name))
        for knob in fields(SandboxKnobs)
    }
    for setting in settings:
        name, equals, raw = setting.partition("=")
        kind = kinds.get(name.strip())
        if not equals or kind is None:
            raise ValueError(f"{setting!r} is not NAME=VALUE with a knob NAME ({', '.join(kinds)})")
        value: object
        try:
            if kind is bool:
                if raw.strip().lower() not in ("true", "false", "1", "0"):
                    raise ValueError(raw)
                value = raw.strip().lower() in ("true", "1")
            elif kind is set:
                value = {part.strip() for part in raw.split(",") if part.strip()}
            else:
                value = kind(raw.strip())
        except ValueError:
            raise ValueError(f"{name}: {raw!r} is not a {kind.__name__}") from None
        setattr(knobs, name.strip(), value)
    return knobs


class FaultDice:
    """Seeded draws for the random-fault knobs; reseeds when `fault_seed` changes."""

    def __init__(self, knobs: SandboxKnobs) -> None:
        self._knobs = knobs
        self._lock = threading.Lock()
        self._seed: int | None = None
        self._random = random.Random()

    def roll(self, rate: float) -> bool:
        """True with probability `rate`. A zero rate draws nothing, so it does not shift later draws."""
        if rate <= 0:
            return False
        with self._lock:
            if self._seed != self._knobs.fault_seed:
                self._seed = self._knobs.fault_seed
                self._random.seed(self._seed)
            return self._random.random() < rate


class RateLimiter:
    """A token bucket per tenant: `rate` tokens a second, holding at most one second's worth (at least 1)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rate: float | None = None
        self._tokens = 0.0
        self._updated = time.monotonic()

    def allow(self, rate: float | None) -> bool:
        if rate is None:
            return True
        with self._lock:
            now = time.monotonic()
            capacity = max(1.0, rate)
            if rate != self._rate:
                # A new limit starts with a full bucket.
                self._rate, self._tokens = rate, capacity
            else:
                self._tokens = min(capacity, self._tokens + (now - self._updated) * rate)
            self._updated = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True


class SlidingWindowLimiter:
    """At most `limit` admitted arrivals in any sliding second: the last seconds' admissions, in order.

    An arrival is judged at the time it reached the host (`allow(limit, at)`), which may be a moment before
    one already judged (threads get to requests late): it is then counted where it belongs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._admitted: list[float] = []

    def allow(self, limit: int | None, at: float | None = None) -> bool:
        if limit is None:
            return True
        with self._lock:
            now = time.monotonic() if at is None else at
            # Admissions two seconds old can no longer share a second with one that arrives now.
            del self._admitted[: bisect.bisect_right(self._admitted, now - 2.0)]
            at_ = bisect.bisect_right(self._admitted, now)
            trial = [*self._admitted[:at_], now, *self._admitted[at_:]]
            # Refused when it would make `limit + 1` admissions within one second, whichever they are.
            for first in range(max(0, at_ - limit), min(at_, len(trial) - limit - 1) + 1):
                if trial[first + limit] - trial[first] < 1.0:
                    return False
            self._admitted = trial
            return True
