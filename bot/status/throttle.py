"""What keeps status updates serial and within Slack's rate tier across processes: the throttle.

Per run: a short lock (one updater per Slack message at a time; its holder renews it while alive,
see `LockHeartbeat`, so it dies with its holder within seconds), the time and digest of the last
update, and a "trailing update scheduled" flag (so that of many deferred updates only one is queued).
Per workspace: chat.update's budget (a GCRA limiter, the same idea as a token bucket) and a hard pause
after a 429. And short-lived claims, so that of all processes one does a periodic chore at a time.
With REDIS_URL every worker process on every host shares it (`RedisThrottle`); without it there is
one process and `LocalThrottle` keeps it in memory (the engine's `shared_redis` chooses).

Times are wall-clock seconds (`time.time()`), comparable across hosts.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import redis

__all__ = ["LastUpdate", "LocalThrottle", "RateBudget", "RedisThrottle", "Throttle"]


@dataclass(frozen=True, slots=True)
class LastUpdate:
    at: float
    digest: str


@dataclass(frozen=True, slots=True)
class RateBudget:
    """chat.update calls per minute for the whole workspace, with a small burst allowance."""

    per_minute: float
    burst: int

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute

    @property
    def tolerance(self) -> float:
        return self.interval * max(0, self.burst - 1)


class Throttle(Protocol):
    def acquire(self, run_id: int, ttl: float) -> str | None:
        """Take the run's update lock for `ttl` seconds; a token, or None if someone holds it."""

    def renew(self, run_id: int, token: str, ttl: float) -> bool:
        """Extend the lock to `ttl` seconds from now if `token` still holds it; False if it does not."""

    def release(self, run_id: int, token: str) -> None: ...

    def request_trailing(self, run_id: int, *, final: bool, ttl: float) -> bool:
        """Flag a deferred update; True if the caller must queue it (none was flagged), else the flag
        is upgraded to `final` when asked and the update already queued will do."""

    def take_trailing(self, run_id: int) -> bool:
        """Clear the flag (a deferred update starts); True if it asked for a final update."""

    def last_update(self, run_id: int) -> LastUpdate | None: ...

    def record_update(self, run_id: int, update: LastUpdate) -> None: ...

    def reserve(self, now: float, *, force: bool) -> float:
        """Take a chat.update slot: 0 if taken, else seconds to wait. `force` (final states) ignores the
        budget but not a pause after a 429."""

    def pause(self, until: float) -> None:
        """No chat.update before `until` (Slack answered 429 with Retry-After)."""

    def claim(self, name: str, ttl: float) -> bool:
        """True for the one caller, service-wide, that claims `name` until `ttl` seconds have passed
        (e.g. one final-state sweep per run every few seconds, whichever process sweeps)."""


class LocalThrottle:
    """One process (the embedded worker): the same rules, in memory."""

    def __init__(self, budget: RateBudget) -> None:
        self._budget = budget
        self._lock = threading.Lock()
        self._locks: dict[int, tuple[str, float]] = {}
        self._trailing: dict[int, bool] = {}
        self._last: dict[int, LastUpdate] = {}
        self._tat = 0.0
        self._paused_until = 0.0
        self._claims: dict[str, float] = {}

    def acquire(self, run_id: int, ttl: float) -> str | None:
        moment = time.time()
        with self._lock:
            held = self._locks.get(run_id)
            if held is not None and held[1] > moment:
                return None
            token = uuid.uuid4().hex
            self._locks[run_id] = (token, moment + ttl)
            return token

    def renew(self, run_id: int, token: str, ttl: float) -> bool:
        moment = time.time()
        with self._lock:
            held = self._locks.get(run_id)
            if held is None or held[0] != token or held[1] <= moment:
                return False
            self._locks[run_id] = (token, moment + ttl)
            return True

    def release(self, run_id: int, token: str) -> None:
        with self._lock:
            if self._locks.get(run_id, ("", 0.0))[0] == token:
                del self._locks[run_id]

    def request_trailing(self, run_id: int, *, final: bool, ttl: float) -> bool:
        with self._lock:
            if run_id not in self._trailing:
                self._trailing[run_id] = final
                return True
            self._trailing[run_id] = self._trailing[run_id] or final
            return False

    def take_trailing(self, run_id: int) -> bool:
        with self._lock:
            return self._trailing.pop(run_id, False)

    def last_update(self, run_id: int) -> LastUpdate | None:
        with self._lock:
            return self._last.get(run_id)

    def record_update(self, run_id: int, update: LastUpdate) -> None:
        with self._lock:
            self._last[run_id] = update

    def reserve(self, now: float, *, force: bool) -> float:
        with self._lock:
            if now < self._paused_until:
                return self._paused_until - now
            tat = max(self._tat, now)
            wait = tat - self._budget.tolerance - now
            if wait > 0 and not force:
                return wait
            self._tat = tat + self._budget.interval
            return 0.0

    def pause(self, until: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, until)
            self._tat = max(self._tat, until)

    def claim(self, name: str, ttl: float) -> bool:
        moment = time.time()
        with self._lock:
            self._claims = {key: until for key, until in self._claims.items() if until > moment}
            if name in self._claims:
                return False
            self._claims[name] = moment + ttl
            return True


_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS[1] lock; ARGV[1] token, ARGV[2] ttl ms. 1 = still ours, extended.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# KEYS[1] flag; ARGV[1] 'final' or 'update', ARGV[2] ttl ms. 1 = caller queues the update.
_REQUEST_TRAILING = """
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if ARGV[1] == 'final' and current ~= 'final' then
  redis.call('SET', KEYS[1], 'final', 'KEEPTTL')
end
return 0
"""
_TAKE_TRAILING = """
local current = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
return current
"""
# KEYS[1] tat, KEYS[2] paused-until; ARGV now, interval, tolerance, force ('1'). Returns wait (string).
_RESERVE = """
local now = tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < paused then return tostring(paused - now) end
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local wait = tat - tonumber(ARGV[3]) - now
if wait > 0 and ARGV[4] ~= '1' then return tostring(wait) end
redis.call('SET', KEYS[1], tostring(tat + tonumber(ARGV[2])), 'EX', 3600)
return '0'
"""
_PAUSE = """
local until_ = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') < until_ then redis.call('SET', key, ARGV[1], 'EX', 3600) end
end
return 0
"""

#: How long per-run state outlives the run's last update (a day: runs take minutes).
_RUN_STATE_SECONDS = 86_400


class RedisThrottle:
    """Every process on every host shares the locks, flags and budget through Redis."""

    def __init__(
        self, connection: redis.Redis, budget: RateBudget, *, prefix: str = "workday-resync:slack"
    ) -> None:
        self._redis = connection
        self._budget = budget
        self._prefix = prefix
        self._release = connection.register_script(_RELEASE)
        self._renew = connection.register_script(_RENEW)
        self._request_trailing = connection.register_script(_REQUEST_TRAILING)
        self._take_trailing = connection.register_script(_TAKE_TRAILING)
        self._reserve = connection.register_script(_RESERVE)
        self._pause = connection.register_script(_PAUSE)

    def _key(self, *parts: object) -> str:
        return ":".join([self._prefix, *(str(part) for part in parts)])

    def acquire(self, run_id: int, ttl: float) -> str | None:
        token = uuid.uuid4().hex
        taken = self._redis.set(self._key("run", run_id, "lock"), token, nx=True, px=int(ttl * 1000))
        return token if taken else None

    def renew(self, run_id: int, token: str, ttl: float) -> bool:
        return bool(self._renew(keys=[self._key("run", run_id, "lock")], args=[token, int(ttl * 1000)]))

    def release(self, run_id: int, token: str) -> None:
        self._release(keys=[self._key("run", run_id, "lock")], args=[token])

    def request_trailing(self, run_id: int, *, final: bool, ttl: float) -> bool:
        value = "final" if final else "update"
        result = self._request_trailing(
            keys=[self._key("run", run_id, "trailing")], args=[value, int(ttl * 1000)]
        )
        return bool(result)

    def take_trailing(self, run_id: int) -> bool:
        value = self._take_trailing(keys=[self._key("run", run_id, "trailing")])
        return value in (b"final", "final")

    def last_update(self, run_id: int) -> LastUpdate | None:
        stored = self._redis.hgetall(self._key("run", run_id, "last"))
        if not stored:
            return None
        values = {_text(key): _text(value) for key, value in stored.items()}
        return LastUpdate(at=float(values["at"]), digest=values["digest"])

    def record_update(self, run_id: int, update: LastUpdate) -> None:
        key = self._key("run", run_id, "last")
        with self._redis.pipeline() as pipe:
            pipe.hset(key, mapping={"at": repr(update.at), "digest": update.digest})
            pipe.expire(key, _RUN_STATE_SECONDS)
            pipe.execute()

    def reserve(self, now: float, *, force: bool) -> float:
        result = self._reserve(
            keys=[self._key("chat.update", "tat"), self._key("chat.update", "paused")],
            args=[
                repr(now),
                repr(self._budget.interval),
                repr(self._budget.tolerance),
                "1" if force else "0",
            ],
        )
        return float(_text(result))

    def pause(self, until: float) -> None:
        self._pause(
            keys=[self._key("chat.update", "paused"), self._key("chat.update", "tat")], args=[repr(until)]
        )

    def claim(self, name: str, ttl: float) -> bool:
        return bool(self._redis.set(self._key("claim", name), "1", nx=True, px=max(1, int(ttl * 1000))))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
