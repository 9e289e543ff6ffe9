"""The politeness gate every HTTP attempt to Workday passes: a cap on requests in flight and on their rate.

`LocalGate` holds one process to the limits; `RedisGate` (`redis_gate.py`) holds every process sharing a
Redis to them, per tenant. Dramatiq's rate limiters do not fit: `ConcurrentRateLimiter` keeps one counter,
so a process killed while holding a slot leaks it for the key's whole TTL, and
`WindowRateLimiter`/`BucketRateLimiter` make callers poll and let bursts through. Here the rate is a GCRA
("theoretical arrival time") reservation, which spaces requests evenly and tells each caller how long to
sleep.

Polite by measurement: requests are spaced `JITTER_MARGIN` wider than the rate asks, so the jitter between
our send time and Workday's arrival time does not put rate + 1 arrivals in one of Workday's sliding
seconds; a send that leaves late (a thread woken late on a busy CPU) holds back the ones after it until it
is a window behind them, so lateness costs throughput, never a throttle; and a throttled answer
(`throttled()`) lowers the tenant's rate for every caller sharing the gate (AIMD, `Pace`). A lone one (none
for `CEILING_MEMORY_SECONDS`) is most likely one arrival that jitter put early, or a moment's load on the
tenant: the rate drops by a fifth and is back at the setting within seconds. One that follows another
says the tenant's limit is below our rate: halved at once, then back up additively each quiet second to
just under the rate that was throttled, and after `CEILING_MEMORY_SECONDS` without a throttle gradually
past it to the configured rate. So a tenant whose real limit is below our setting converges instead of
being hammered, and a lone throttle does not cost a long run a tenth of its time.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "CEILING_MEMORY_SECONDS",
    "CEILING_SHARE",
    "DECREASE",
    "DECREASE_HOLD_SECONDS",
    "FLOOR_SHARE",
    "INCREASE_SHARE",
    "JITTER_MARGIN",
    "LONE_DECREASE",
    "LocalGate",
    "Pace",
    "RequestGate",
]

#: Sends are spaced this much wider than the rate: arrivals jitter (thread wake-ups, connections), and a
#: strict tenant refuses the (rate + 1)-th arrival in any sliding second.
JITTER_MARGIN = 0.05
#: A lone throttled answer (no other for `CEILING_MEMORY_SECONDS`) multiplies the tenant's rate by this,
#: and the rate climbs back to the configured one (no ceiling).
LONE_DECREASE = 0.8
#: A throttled answer that follows another multiplies the tenant's rate by this (once per
#: `DECREASE_HOLD_SECONDS`: the requests already on their way when a throttle came back do not lower it
#: again).
DECREASE = 0.5
DECREASE_HOLD_SECONDS = 1.0
#: Each quiet second (no throttle) gives back this share of the configured rate...
INCREASE_SHARE = 0.1
#: ... up to this share of the rate that was throttled ...
CEILING_SHARE = 0.95
#: ... and after this long without a throttle, past it towards the configured rate.
CEILING_MEMORY_SECONDS = 60.0
#: The rate never drops below this share of the configured rate.
FLOOR_SHARE = 0.02


@dataclass(frozen=True, slots=True)
class Pace:
    """A tenant's rate after its last throttle (AIMD): `after` (the cut rate) from `since`, climbing back
    by `INCREASE_SHARE` of the configured rate each quiet second, up to `CEILING_SHARE` of `ceiling` (the
    rate that was throttled, when the throttle followed another) and past it after
    `CEILING_MEMORY_SECONDS`. `redis_gate`'s Lua `_PACE` is the same (a ceiling of 0 there is None)."""

    after: float
    #: None after a lone throttle: the rate climbs straight back to the configured one.
    ceiling: float | None
    #: When the rate was cut (seconds, the gate's clock).
    since: float

    def rate(self, configured: float, now: float) -> float:
        quiet = now - self.since
        step = INCREASE_SHARE * configured
        rate = self.after + math.floor(quiet) * step
        if self.ceiling is not None and quiet < CEILING_MEMORY_SECONDS:
            rate = min(CEILING_SHARE * self.ceiling, rate)
        elif self.ceiling is not None:
            rate = CEILING_SHARE * self.ceiling + math.floor(quiet - CEILING_MEMORY_SECONDS) * step
        return max(self.after, min(configured, rate))

    @staticmethod
    def cut(previous: Pace | None, configured: float, now: float) -> Pace | None:
        """The pace after a throttled answer at `now`; None when the rate was cut moments ago."""
        if previous is not None and now - previous.since < DECREASE_HOLD_SECONDS:
            return None
        if previous is None or now - previous.since >= CEILING_MEMORY_SECONDS:
            rate = configured if previous is None else previous.rate(configured, now)
            return Pace(max(FLOOR_SHARE * configured, LONE_DECREASE * rate), None, now)
        rate = previous.rate(configured, now)
        return Pace(max(FLOOR_SHARE * configured, DECREASE * rate), rate, now)


class RequestGate(Protocol):
    """Admits one HTTP attempt: `with gate.slot() as contended: send()`; `contended` tells whether other
    requests were waiting for a slot as this one was admitted (a hung request should then give up sooner).
    It is read with the admission itself: nothing but the send may come between them (`redis_gate`)."""

    def slot(self) -> AbstractContextManager[bool]: ...

    def throttled(self) -> None:
        """Workday throttled an attempt: lower the tenant's rate for every caller sharing this gate."""
        ...

    def rate(self) -> float:
        """Requests per second the gate admits now (the configured rate unless Workday throttled us)."""
        ...

    def close(self) -> None: ...


class LocalGate:
    """At most `max_in_flight` requests at once and `rate_limit` a second (less after a throttle: `Pace`),
    evenly spaced with `JITTER_MARGIN`, in this process."""

    def __init__(self, max_in_flight: int, rate_limit: float) -> None:
        if max_in_flight < 1 or rate_limit <= 0:
            raise ValueError("max_in_flight must be >= 1 and rate_limit > 0")
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self.rate_limit = rate_limit
        self._pace: Pace | None = None
        self._lock = threading.Lock()
        self._next = 0.0
        self._waiting = 0
        #: When the last sends left (a second's worth at the configured rate).
        self._sent: deque[float] = deque(maxlen=max(1, math.ceil(rate_limit)))

    @contextmanager
    def slot(self) -> Iterator[bool]:
        if not self._slots.acquire(blocking=False):
            with self._lock:
                self._waiting += 1
            try:
                self._slots.acquire()
            finally:
                with self._lock:
                    self._waiting -= 1
        try:
            with self._lock:
                now = time.monotonic()
                send = max(self._next, now)
                self._next = send + (1 + JITTER_MARGIN) / self._rate(now)
            time.sleep(send - now)
            self._after_recent_sends()
            with self._lock:
                contended = self._waiting > 0
            yield contended
        finally:
            self._slots.release()

    def _after_recent_sends(self) -> None:
        """Wait until the `n`-th last send is a window behind (n: whole requests a second at the current
        rate): a thread that woke late (a busy CPU) would otherwise send close to the ones scheduled after
        it, and a strict tenant refuses the (n + 1)-th arrival in any second."""
        while True:
            with self._lock:
                now = time.monotonic()
                rate = self._rate(now)
                n = max(1, math.floor(rate))
                due = self._sent[-n] + n * (1 + JITTER_MARGIN) / rate if len(self._sent) >= n else now
                if due <= now:
                    self._sent.append(now)
                    return
            time.sleep(due - now)

    def throttled(self) -> None:
        with self._lock:
            self._pace = Pace.cut(self._pace, self.rate_limit, time.monotonic()) or self._pace

    def rate(self) -> float:
        with self._lock:
            return self._rate(time.monotonic())

    def _rate(self, now: float) -> float:
        return self.rate_limit if self._pace is None else self._pace.rate(self.rate_limit, now)

    def close(self) -> None:
        """Nothing to release: the slots live in this process."""
