"""The request forms the app opened, by user: a submission naming any other view is forged.

Slack lets only the app open its views, so a `view_submission` for a view id the app never opened for that
user (views.open or views.push) was not sent by Slack. Views are remembered in Redis when REDIS_URL is set
(every `serve` process opens and receives forms; a view id is Slack state, short-lived, with nothing for the
store to keep), in memory otherwise (the single embedded process). Either way a restart forgets them: a
form open across it is refused once, with the message that asks the admin to open a new one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

__all__ = [
    "OPENED_VIEW_SECONDS",
    "MemoryOpenedViews",
    "OpenedViews",
    "OpenedViewsUnavailable",
    "RedisOpenedViews",
]

#: How long a form may stay open and still be submitted.
OPENED_VIEW_SECONDS = 24 * 3600


class OpenedViewsUnavailable(Exception):
    """Whether the app opened a view cannot be told now (its memory is unreachable)."""


class OpenedViews(Protocol):
    def remember(self, user_id: str, view_id: str) -> None:
        """Record that the app opened `view_id` for `user_id` (`OpenedViewsUnavailable` on failure)."""

    def opened_for(self, user_id: str, view_id: str) -> bool:
        """Whether the app opened `view_id` for `user_id` (`OpenedViewsUnavailable` if unknown)."""


class MemoryOpenedViews:
    """One process's memory (the embedded setup: a single `serve` process)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._expiry: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def remember(self, user_id: str, view_id: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._expiry) > 10_000:  # forget what has expired, now and then
                self._expiry = {key: until for key, until in self._expiry.items() if until > now}
            self._expiry[(user_id, view_id)] = now + OPENED_VIEW_SECONDS

    def opened_for(self, user_id: str, view_id: str) -> bool:
        with self._lock:
            return self._expiry.get((user_id, view_id), 0.0) > self._clock()


class RedisOpenedViews:
    """Opened views shared by every process through Redis (one key per user and view, expiring)."""

    PREFIX = "workday-resync:slack:opened-view:"

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def remember(self, user_id: str, view_id: str) -> None:
        try:
            self._redis.set(self._key(user_id, view_id), 1, ex=OPENED_VIEW_SECONDS)
        except redis.RedisError as error:
            raise OpenedViewsUnavailable(type(error).__name__) from error

    def opened_for(self, user_id: str, view_id: str) -> bool:
        try:
            return bool(self._redis.exists(self._key(user_id, view_id)))
        except redis.RedisError as error:
            raise OpenedViewsUnavailable(type(error).__name__) from error

    def _key(self, user_id: str, view_id: str) -> str:
        return f"{self.PREFIX}{user_id}:{view_id}"
