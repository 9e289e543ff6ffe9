"""Replayed requests refused: a request Slack signed is accepted once, across every app process.

Bolt checks each HTTP request's signature and that it is at most five minutes old; within those five
minutes a captured request could be sent again. This Bolt middleware, run after that check, remembers each
signature for the same five minutes (in Redis when REDIS_URL is set, so every `serve` process shares it;
in memory otherwise) and answers a second sighting with 401. What cannot be checked (Redis down or slow)
is refused with 503, never let through. Socket Mode requests carry no signature and pass through.

A Redis restart forgets the signatures it held, so nothing may rely on this guard alone: a replayed form
submission finds the draft it stored (`RunService.create_draft_once`, keyed on the view), and Confirm and
Cancel change only a draft.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis
from slack_bolt import BoltRequest, BoltResponse

__all__ = [
    "REPLAY_WINDOW_SECONDS",
    "MemorySeen",
    "RedisSeen",
    "ReplayCheckUnavailable",
    "SeenSignatures",
    "replay_guard",
]

log = logging.getLogger(__name__)

#: Slack's own window for a request's timestamp: older requests fail the signature check anyway.
REPLAY_WINDOW_SECONDS = 5 * 60
_SIGNATURE_HEADER = "x-slack-signature"


class ReplayCheckUnavailable(Exception):
    """Whether a signature was seen cannot be known now (its memory is unreachable)."""


class SeenSignatures(Protocol):
    def first_sighting(self, signature: str) -> bool:
        """Remember `signature` for the replay window; True unless it was already remembered.

        `ReplayCheckUnavailable` when that cannot be told."""


class MemorySeen:
    """One process's memory of signatures (the embedded setup: a single `serve` process)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_sighting(self, signature: str) -> bool:
        now = self._clock()
        with self._lock:
            if self._expiry.get(signature, 0.0) > now:
                return False
            if len(self._expiry) > 10_000:  # forget what has expired, now and then
                self._expiry = {key: until for key, until in self._expiry.items() if until > now}
            self._expiry[signature] = now + REPLAY_WINDOW_SECONDS
            return True


class RedisSeen:
    """Signatures shared by every process through Redis (SET NX with the window as expiry)."""

    PREFIX = "workday-resync:slack:seen:"

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def first_sighting(self, signature: str) -> bool:
        try:
            return bool(self._redis.set(self.PREFIX + signature, 1, nx=True, ex=REPLAY_WINDOW_SECONDS))
        except redis.RedisError as error:
            raise ReplayCheckUnavailable(type(error).__name__) from error


def replay_guard(seen: SeenSignatures) -> Callable[..., BoltResponse]:
    """The middleware for `app.use`: 401 for a signature already seen, 503 when that cannot be told."""

    def refuse_replays(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:
        signature = (req.headers.get(_SIGNATURE_HEADER) or [""])[0]
        if not signature:
            return next()
        try:
            first = seen.first_sighting(signature)
        except ReplayCheckUnavailable as error:
            # Fail closed: Slack answers the user with an error, and nothing of the request was acted on.
            log.warning("Replay check unavailable: request refused (503)", extra={"error": str(error)})
            return BoltResponse(status=503, body='{"error": "temporarily unavailable"}')
        if not first:
            log.warning("Replayed Slack request refused")
            return BoltResponse(status=401, body='{"error": "invalid request"}')
        return next()

    return refuse_replays
