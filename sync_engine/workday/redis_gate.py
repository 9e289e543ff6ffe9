"""`RedisGate`: the limits of `LocalGate` (`gate.py`) held by every process sharing a Redis, per tenant.

The rate is a GCRA ("theoretical arrival time") reservation in Redis, the in-flight cap a sorted set of
holders that each expire unless their process keeps renewing them (a heartbeat), and the tenant's pace
after a throttle (`Pace`) a hash every process reads.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import redis

from sync_engine.repeating_task import Periodic
from sync_engine.settings import WorkdaySettings
from sync_engine.workday.gate import (
    CEILING_MEMORY_SECONDS,
    CEILING_SHARE,
    DECREASE,
    DECREASE_HOLD_SECONDS,
    FLOOR_SHARE,
    INCREASE_SHARE,
    JITTER_MARGIN,
    LONE_DECREASE,
)

__all__ = ["DEFAULT_HOLD_SECONDS", "DEFAULT_SLOT_TTL_SECONDS", "HOLD_MARGIN_SECONDS", "RedisGate"]

#: Seconds after which a slot is no longer renewed even though its holder still runs (a hung request).
DEFAULT_HOLD_SECONDS = 150.0
#: Seconds a slot outlives the last heartbeat of its holder: how long a killed process's slots stay taken.
DEFAULT_SLOT_TTL_SECONDS = 10.0
#: Seconds a slot is renewed beyond the longest a request may take (`for_settings`).
HOLD_MARGIN_SECONDS = 30.0
_PREFIX = "workday-resync:gate"
#: Seconds between two looks for a free in-flight slot (with jitter).
_POLL_SECONDS = 0.02
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
# The tenant's pace (`Pace.rate`, in Lua): KEYS[2] = hash {after, ceiling (0: none), since (µs)} set by
# the last decrease; ARGV[1] = the configured rate. Shared by the scripts below.
_PACE = f"""
local function paced(key, configured, now)
  local state = redis.call('HMGET', key, 'after', 'ceiling', 'since')
  if not state[3] then return configured end
  local after, ceiling = tonumber(state[1]), tonumber(state[2])
  local quiet = (now - tonumber(state[3])) / 1000000
  local step = {INCREASE_SHARE} * configured
  local rate = after + math.floor(quiet) * step
  if ceiling > 0 and quiet < {CEILING_MEMORY_SECONDS} then
    rate = math.min({CEILING_SHARE} * ceiling, rate)
  elseif ceiling > 0 then
    rate = {CEILING_SHARE} * ceiling + math.floor(quiet - {CEILING_MEMORY_SECONDS}) * step
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
# KEYS[1] = pace; ARGV[1] = configured rate. A throttled answer (`Pace.cut`): the rate is cut, unless it
# was cut moments ago; a lone throttle gently and with no ceiling, one that follows another by half, the
# rate now becoming the ceiling. The pace is kept while it matters (memory plus the climb back).
_THROTTLED = f"""
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local configured = tonumber(ARGV[1])
local since = tonumber(redis.call('HGET', KEYS[1], 'since') or 0)
if since > 0 and now - since < {DECREASE_HOLD_SECONDS} * 1000000 then return 0 end
local rate = paced(KEYS[1], configured, now)
local after, ceiling = {LONE_DECREASE} * rate, 0
if since > 0 and now - since < {CEILING_MEMORY_SECONDS} * 1000000 then
  after, ceiling = {DECREASE} * rate, rate
end
after = math.max({FLOOR_SHARE} * configured, after)
redis.call('HSET', KEYS[1], 'after', after, 'ceiling', ceiling, 'since', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(({CEILING_MEMORY_SECONDS} + 1 / {INCREASE_SHARE}) * 1000) + 60000)
return 1
"""


# KEYS[1] = pace; ARGV[1] = configured rate: the rate now (as text: Lua numbers become integers).
_CURRENT = """
local t = redis.call('TIME')
return tostring(paced(KEYS[1], tonumber(ARGV[1]), tonumber(t[1]) * 1000000 + tonumber(t[2])))
"""
# KEYS[1] = the tenant's last sends (list of µs, newest first), KEYS[2] = pace, KEYS[3] = waiting callers
# (see _ACQUIRE); ARGV[1] = configured rate, ARGV[2] = sends kept. `LocalGate._after_recent_sends` across
# processes: a send is recorded only once the n-th last one is a window behind (n: whole requests a second
# at the current rate): {0, callers waiting now}; else {µs to wait, 0}.
_SENDING = f"""
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate = paced(KEYS[2], tonumber(ARGV[1]), now)
local n = math.max(1, math.floor(rate))
local window = n * {1 + JITTER_MARGIN} * 1000000 / rate
local nth = redis.call('LINDEX', KEYS[1], n - 1)
if nth and tonumber(nth) + window > now then return {{math.ceil(tonumber(nth) + window - now), 0}} end
redis.call('LPUSH', KEYS[1], string.format('%.0f', now))
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
return {{0, redis.call('ZCARD', KEYS[3])}}
"""


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
        self._sent_key = f"{prefix}:{tenant}:sent"
        self._waiting_key = f"{prefix}:{tenant}:waiting"
        self._pace_key = f"{prefix}:{tenant}:pace"
        self._hold_seconds = hold_seconds
        self._ttl_us = int(slot_ttl_seconds * 1_000_000)
        self._acquire = redis_client.register_script(_ACQUIRE)
        self._renew = redis_client.register_script(_RENEW)
        self._reserve = redis_client.register_script(_PACE + _RESERVE)
        self._cut = redis_client.register_script(_PACE + _THROTTLED)
        self._current = redis_client.register_script(_PACE + _CURRENT)
        self._sending = redis_client.register_script(_PACE + _SENDING)
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
        slowest = FLOOR_SHARE * settings.rate_limit / (1 + JITTER_MARGIN)
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
    def slot(self) -> Iterator[bool]:
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
            yield self._after_recent_sends()
        finally:
            with self._lock:
                del self._held[holder]
            self._redis.zrem(self._holders_key, holder)

    def _after_recent_sends(self) -> bool:
        """Wait until the tenant's `n`-th last send, from any process, is a window behind: a caller that woke
        late (a busy CPU, a paused process) would otherwise send close to the ones reserved after it, and a
        strict tenant refuses the (n + 1)-th arrival in any second. Whether callers of any process wait for
        a slot, read in the same script: a second round trip here would delay the send past its stamp."""
        keys = [self._sent_key, self._pace_key, self._waiting_key]
        kept = max(1, math.ceil(self.rate_limit))
        while True:
            wait_us, waiting = self._sending(keys=keys, args=[self.rate_limit, kept])
            if not wait_us:
                return bool(waiting)
            time.sleep(int(wait_us) / 1_000_000)

    def throttled(self) -> None:
        """Lower the tenant's rate in Redis: every process sharing it slows down."""
        self._cut(keys=[self._pace_key], args=[self.rate_limit])

    def rate(self) -> float:
        return float(self._current(keys=[self._pace_key], args=[self.rate_limit]))

    def close(self) -> None:
        """Stop renewing (slots still held then expire within the TTL)."""
        self._heartbeat.stop()

    def reset(self) -> None:
        """Forget every holder and reservation of this tenant (tests, or after an incident)."""
        keys = (self._holders_key, self._arrival_key, self._sent_key, self._waiting_key, self._pace_key)
        self._redis.delete(*keys)

    def _renew_held(self) -> None:
        now = time.monotonic()
        with self._lock:
            holders = [holder for holder, until in self._held.items() if until > now]
        if holders:  # one round trip for all of them
            self._renew(keys=[self._holders_key], args=[self._ttl_us, *holders])
