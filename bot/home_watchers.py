"""Who has the Home tab's History open: the users whose Home a run's change re-publishes.

A user is watching from the moment their Home is published on History until it is published on another
tab, or `WATCH_SECONDS` after (Slack tells an app nothing when a user leaves its Home). Kept in Redis
when REDIS_URL is set (every process sees it: the app publishes, the workers follow), else in this
process's memory, one store per database (the app and its embedded worker share it).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

import redis

__all__ = ["WATCH_SECONDS", "HistoryWatchers", "Watcher", "history_watchers"]

#: Seconds a published History keeps following runs without being published again.
WATCH_SECONDS = 30 * 60.0


@dataclass(frozen=True, slots=True)
class Watcher:
    user_id: str
    #: The History page the user has open (its first run's offset).
    offset: int
    #: A digest of the view last published to them ("" if unknown).
    shown: str = ""


class HistoryWatchers(Protocol):
    def watch(self, user_id: str, offset: int, shown: str) -> None:
        """`user_id` has History open at `offset`, showing the view whose digest is `shown`."""

    def unwatch(self, user_id: str) -> None: ...

    def watching(self) -> list[Watcher]:
        """The users whose History is open now (dropping those whose time ran out)."""


class MemoryWatchers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, tuple[Watcher, float]] = {}

    def watch(self, user_id: str, offset: int, shown: str) -> None:
        with self._lock:
            self._until[user_id] = (Watcher(user_id, offset, shown), time.time() + WATCH_SECONDS)

    def unwatch(self, user_id: str) -> None:
        with self._lock:
            self._until.pop(user_id, None)

    def watching(self) -> list[Watcher]:
        now = time.time()
        with self._lock:
            self._until = {user: entry for user, entry in self._until.items() if entry[1] > now}
            return [watcher for watcher, _ in self._until.values()]


class RedisWatchers:
    """One hash, user → "offset:until:shown"; expired entries are dropped as they are read."""

    def __init__(self, connection: redis.Redis, *, key: str = "workday-resync:slack:home:history") -> None:
        self._redis = connection
        self._key = key

    def watch(self, user_id: str, offset: int, shown: str) -> None:
        with self._redis.pipeline() as pipe:
            pipe.hset(self._key, user_id, f"{offset}:{time.time() + WATCH_SECONDS!r}:{shown}")
            pipe.expire(self._key, int(WATCH_SECONDS) + 60)
            pipe.execute()

    def unwatch(self, user_id: str) -> None:
        self._redis.hdel(self._key, user_id)

    def watching(self) -> list[Watcher]:
        now = time.time()
        found, expired = [], []
        for user, value in self._redis.hgetall(self._key).items():
            user_id, entry = _text(user), _text(value)
            offset, until, shown = [*entry.split(":", 2), "", ""][:3]
            if offset.isdigit() and float(until or 0) > now:
                found.append(Watcher(user_id, int(offset), shown))
            else:
                expired.append(user_id)
        if expired:
            self._redis.hdel(self._key, *expired)
        return found


_IN_MEMORY: dict[str, MemoryWatchers] = {}
_IN_MEMORY_LOCK = threading.Lock()


def history_watchers(connection: redis.Redis | None, database_url: str) -> HistoryWatchers:
    """Redis's watchers, or this process's for the store at `database_url`."""
    if connection is not None:
        return RedisWatchers(connection)
    with _IN_MEMORY_LOCK:
        return _IN_MEMORY.setdefault(database_url, MemoryWatchers())


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
