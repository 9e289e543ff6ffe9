"""The politeness gate every HTTP attempt to Workday passes: a cap on requests in flight and on their rate.

`LocalGate` holds one process to the limits; `RedisGate` holds every process sharing a Redis to them, per
tenant. Dramatiq's rate limiters do not fit: `ConcurrentRateLimiter` keeps one counter, so a process killed
while holding a slot leaks it for the key's whole TTL, and `WindowRateLimiter`/`BucketRateLimiter` make
callers poll and let bursts through. Here the rate is a GCRA ("theoretical arrival time") reservation, which
spaces requests evenly and tells each caller how long to sleep, and the in-flight cap is a sorted set of
holders that each expire on their own unless their process keeps renewing them (a heartbeat).

Polite by measurement: requests are spaced `JITTER_MARGIN` wider than the rate asks, so the jitter between
our send time and Workday's arrival time does not put rate + 1 arrivals in one of Workday's sliding
seconds; and a throttled answer (`throttled()`) lowers the tenant's rate for every caller sharing the gate
(AIMD, `Pace`): halved at once, then back up additively each quiet second to just under the rate that was
throttled, and after `CEILING_MEMORY_SECONDS` without a throttle gradually past it to the configured rate.
So a tenant whose real limit is below our setting converges instead of being hammered.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import redis

from sync_engine.repeating_task import Periodic
from sync_engine.settings import WorkdaySettings

__all__ = [
    "CEILING_MEMORY_SECONDS",
    "DEFAULT_HOLD_SECONDS",
    "DEFAULT_SLOT_TTL_SECONDS",
    "HOLD_MARGIN_SECONDS",
    "JITTER_MARGIN",
    "LocalGate",
    "Pace",
    "RedisGate",
    "RequestGate",
]

#: Seconds after which a slot is no longer renewed even though its holder still runs (a hung request).
DEFAULT_HOLD_SECONDS = 150.0
#: Seconds a slot outlives the last heartbeat of its holder: how long a killed process's slots stay taken.
DEFAULT_SLOT_TTL_SECONDS = 10.0
#: Seconds a slot is renewed beyond the longest a request may take (`for_settings`).
HOLD_MARGIN_SECONDS = 30.0
_PREFIX = "workday-resync:gate"
#: Seconds between two looks for a free in-flight slot (with jitter).
_POLL_SECONDS = 0.02
#: Sends are spaced this much wider than the rate: arrivals jitter (thread wake-ups, connections), and a
#: strict tenant refuses the (rate + 1)-th arrival in any sliding second.
JITTER_MARGIN = 0.05
#: A throttled answer multiplies the tenant's rate by this (once per `_DECREASE_HOLD_SECONDS`: the
#: requests already on their way when the first throttle came back do not lower it again).
_DECREASE = 0.5
_DECREASE_HOLD_SECONDS = 1.0
#: Each quiet second (no throttle) gives back this share of the configured rate...
_INCREASE_SHARE = 0.1
#: ... up to this share of the rate that was throttled ...
_CEILING_SHARE = 0.95
#: ... and after this long without a throttle, past it towards the configured rate.
CEILING_MEMORY_SECONDS = 60.0
#: The rate never drops below this share of the configured rate.
_FLOOR_SHARE = 0.02

# The scripts read the clock of the Redis server, so hosts with skewed clocks still share one timeline.
# Holders: KEYS[1] = sorted set of holders (score = expiry, µs); the key's own expiry only collects an idle
# set, and is never shortened, so a holder with a longer TTL (another configuration) keeps its set.
# KEYS[2] = sorted set of callers waiting for a slot, each entry expiring a second after its last try.
# ARGV = holder id, limit, slot TTL (µs).
_ACQUIRE = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[2], now + 1000000, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], 2000)
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl / 1000 then redis.call('PEXPIRE', KEYS[1], math.ceil(ttl / 1000)) end
return 1
"""
# ARGV = slot TTL (µs), then the holders to renew. `XX` updates members only: a slot released (or expired
# and dropped) meanwhile is not brought back.
_RENEW = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i])
end
if redis.call('PTTL', KEYS[1]) < ttl / 1000 then redis.call('PEXPIRE', KEYS[1], math.ceil(ttl / 1000)) end
return 1
"""
# KEYS[1] = waiting callers (see _ACQUIRE): how many are waiting now.
_WAITING = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(t[1]) * 1000000 + tonumber(t[2]))
return redis.call('ZCARD', KEYS[1])
"""
# The tenant's pace (`Pace.rate`, in Lua): KEYS[2] = hash {after, ceiling, since (µs)} set by the last
# decrease; ARGV[1] = the configured rate. Shared by the scripts below.
_PACE = f"""
local function paced(key, configured, now)
  local state = redis.call('HMGET', key, 'after', 'ceiling', 'since')
  if not state[3] then return configured end
  local after, ceiling = tonumber(state[1]), tonumber(state[2])
  local quiet = (now - tonumber(state[3])) / 1000000
  local step = {_INCREASE_SHARE} * configured
  local rate = math.min({_CEILING_SHARE} * ceiling, after + math.floor(quiet) * step)
  if quiet >= {CEILING_MEMORY_SECONDS} then
    rate = {_CEILING_SHARE} * ceiling + math.floor(quiet - {CEILING_MEMORY_SECONDS}) * step
  end
  return math.max(after, math.min(configured, rate))
end
"""
# KEYS[1] = theoretical arrival time (µs), KEYS[2] = pace; ARGV[1] = configured rate.
# Reserves the next send time and returns how many µs the caller must wait for it.
_RESERVE = f"""
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = {1 + JITTER_MARGIN} * 1000000 / paced(KEYS[2], tonumber(ARGV[1]), now)
local send = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now)
local ttl = math.ceil((send + interval - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', send + interval), 'PX', ttl)
return string.format('%.0f', send - now)
"""
# KEYS[1] = pace; ARGV[1] = configured rate. A throttled answer: the rate now becomes the ceiling and is
# cut, unless it was cut moments ago. The pace is kept while it matters (memory plus the climb back).
_THROTTLED = f"""
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local configured = tonumber(ARGV[1])
local since = tonumber(redis.call('HGET', KEYS[1], 'since') or 0)
if since > 0 and now - since < {_DECREASE_HOLD_SECONDS} * 1000000 then return 0 end
local rate = paced(KEYS[1], configured, now)
local after = math.max({_FLOOR_SHARE} * configured, {_DECREASE} * rate)
redis.call('HSET', KEYS[1], 'after', after, 'ceiling', rate, 'since', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(({CEILING_MEMORY_SECONDS} + 1 / {_INCREASE_SHARE}) * 1000) + 60000)
return 1
"""


@dataclass(frozen=True, slots=True)
class Pace:
    """A tenant's rate after its last throttle (AIMD): `after` (the cut rate) from `since`, climbing back
    by `_INCREASE_SHARE` of the configured rate each quiet second up to `_CEILING_SHARE` of `ceiling` (the
    rate that was throttled), past it after `CEILING_MEMORY_SECONDS`. The Lua `_PACE` is the same."""

    after: float
    ceiling: float
    #: When the rate was cut (seconds, the gate's clock).
    since: float

    def rate(self, configured: float, now: float) -> float:
        quiet = now - self.since
        step = _INCREASE_SHARE * configured
        rate = min(_CEILING_SHARE * self.ceiling, self.after + math.floor(quiet) * step)
        if quiet >= CEILING_MEMORY_SECONDS:
            rate = _CEILING_SHARE * self.ceiling + math.floor(quiet - CEILING_MEMORY_SECONDS) * step
        return max(self.after, min(configured, rate))

    @staticmethod
    def cut(previous: Pace | None, configured: float, now: float) -> Pace | None:
        """The pace after a throttled answer at `now`; None when the rate was cut moments ago."""
        if previous is not None and now - previous.since < _DECREASE_HOLD_SECONDS:
            return None
        rate = configured if previous is None else previous.rate(configured, now)
        return Pace(max(_FLOOR_SHARE * configured, _DECREASE * rate), rate, now)


# KEYS[1] = pace; ARGV[1] = configured rate: the rate now (as text: Lua numbers become integers).
_CURRENT = """
local t = redis.call('TIME')
return tostring(paced(KEYS[1], tonumber(ARGV[1]), tonumber(t[1]) * 1000000 + tonumber(t[2])))
"""


class RequestGate(Protocol):
    """Admits one HTTP attempt: `with gate.slot(): send()`."""

    def slot(self) -> AbstractContextManager[None]: ...

    def throttled(self) -> None:
        """Workday throttled an attempt: lower the tenant's rate for every caller sharing this gate."""
        ...

    def rate(self) -> float:
        """Requests per second the gate admits now (the configured rate unless Workday throttled us)."""
        ...

    def waiting(self) -> bool:
        """Whether other requests are waiting for a slot now (a hung request should then give up sooner)."""
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
    def slot(self) -> Iterator[None]:
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
            yield
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

    def waiting(self) -> bool:
        with self._lock:
            return self._waiting > 0

    def close(self) -> None:
        """Nothing to release: the slots live in this process."""


class RedisGate:
    """The limits of `LocalGate`, per tenant, across every process using the same Redis.

    A slot taken in Redis expires `slot_ttl_seconds` after it was last renewed. While requests are in flight,
    a daemon thread renews this process's slots every third of that, so a slow request keeps its slot and a
    process killed mid-request frees its slots within `slot_ttl_seconds`. Renewal stops `hold_seconds` after
    a slot was taken (the request timeout plus a margin), so a request hung past any timeout cannot keep a
    slot for good: no slot is held longer than `hold_seconds + slot_ttl_seconds`. `close()` stops the thread.
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        tenant: str,
        max_in_flight: int,
        rate_limit: float,
        *,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        slot_ttl_seconds: float = DEFAULT_SLOT_TTL_SECONDS,
        prefix: str = _PREFIX,
    ) -> None:
        if max_in_flight < 1 or min(rate_limit, hold_seconds, slot_ttl_seconds) <= 0:
            raise ValueError("max_in_flight must be >= 1, rate_limit, hold_seconds and slot_ttl_seconds > 0")
        self.max_in_flight = max_in_flight
        self.rate_limit = rate_limit
        self._holders_key = f"{prefix}:{tenant}:in-flight"
        self._arrival_key = f"{prefix}:{tenant}:next-send"
        self._waiting_key = f"{prefix}:{tenant}:waiting"
        self._pace_key = f"{prefix}:{tenant}:pace"
        self._hold_seconds = hold_seconds
        self._ttl_us = int(slot_ttl_seconds * 1_000_000)
        self._acquire = redis_client.register_script(_ACQUIRE)
        self._renew = redis_client.register_script(_RENEW)
        self._reserve = redis_client.register_script(_PACE + _RESERVE)
        self._cut = redis_client.register_script(_PACE + _THROTTLED)
        self._current = redis_client.register_script(_PACE + _CURRENT)
        self._count_waiting = redis_client.register_script(_WAITING)
        self._redis = redis_client
        # This process's slots: holder id -> monotonic time after which it is no longer renewed.
        self._held: dict[str, float] = {}
        self._lock = threading.Lock()
        # A third of the TTL leaves two renewals to spare before a slot in use could expire.
        every = timedelta(seconds=slot_ttl_seconds / 3)
        self._heartbeat = Periodic("workday-gate-heartbeat", self._renew_held, every=every, immediately=False)

    @classmethod
    def for_settings(
        cls,
        redis_client: redis.Redis,
        settings: WorkdaySettings,
        *,
        slot_ttl_seconds: float = DEFAULT_SLOT_TTL_SECONDS,
        prefix: str = _PREFIX,
    ) -> RedisGate:
        """The gate for a Workday connection: its tenant and limits; a slot is renewed at most one request
        timeout plus the longest rate wait (at the lowest pace) plus `HOLD_MARGIN_SECONDS`."""
        slowest = _FLOOR_SHARE * settings.rate_limit / (1 + JITTER_MARGIN)
        hold = settings.timeout + settings.max_in_flight / slowest + HOLD_MARGIN_SECONDS
        return cls(
            redis_client,
            settings.tenant,
            settings.max_in_flight,
            settings.rate_limit,
            hold_seconds=hold,
            slot_ttl_seconds=slot_ttl_seconds,
            prefix=prefix,
        )

    @contextmanager
    def slot(self) -> Iterator[None]:
        holder = uuid.uuid4().hex
        keys = [self._holders_key, self._waiting_key]
        while not self._acquire(keys=keys, args=[holder, self.max_in_flight, self._ttl_us]):
            time.sleep(_POLL_SECONDS * random.uniform(0.5, 1.5))
        with self._lock:
            self._held[holder] = time.monotonic() + self._hold_seconds
            self._heartbeat.start()  # no-op once running
        try:
            keys = [self._arrival_key, self._pace_key]
            wait_us = int(self._reserve(keys=keys, args=[self.rate_limit]))
            time.sleep(wait_us / 1_000_000)
            yield
        finally:
            with self._lock:
                del self._held[holder]
            self._redis.zrem(self._holders_key, holder)

    def throttled(self) -> None:
        """Lower the tenant's rate in Redis: every process sharing it slows down."""
        self._cut(keys=[self._pace_key], args=[self.rate_limit])

    def rate(self) -> float:
        return float(self._current(keys=[self._pace_key], args=[self.rate_limit]))

    def waiting(self) -> bool:
        """Whether a caller of any process tried for a slot in the last second and has none yet."""
        return int(self._count_waiting(keys=[self._waiting_key])) > 0

    def close(self) -> None:
        """Stop renewing (slots still held then expire within the TTL)."""
        self._heartbeat.stop()

    def reset(self) -> None:
        """Forget every holder and reservation of this tenant (tests, or after an incident)."""
        self._redis.delete(self._holders_key, self._arrival_key, self._waiting_key, self._pace_key)

    def _renew_held(self) -> None:
        now = time.monotonic()
        with self._lock:
            holders = [holder for holder, until in self._held.items() if until > now]
        if holders:  # one round trip for all of them
            self._renew(keys=[self._holders_key], args=[self._ttl_us, *holders])
