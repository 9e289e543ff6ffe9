"""Slack's rate limits: per method per workspace, and chat.postMessage per channel."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

__all__ = ["RateLimiter"]


class RateLimiter:
    """Slack's rate limits: per method per workspace (a sliding window), and chat.postMessage per channel
    (a token bucket). Each check either admits the call or says how many seconds to wait (Retry-After)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}

    def method_wait(self, method: str, limit: int | None, window: float) -> int | None:
        """None if a call of `method` may go now (it is counted), else the Retry-After seconds."""
        if limit is None:
            return None
        with self._lock:
            now = time.monotonic()
            calls = self._calls.setdefault(method, deque())
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) < limit:
                calls.append(now)
                return None
            return max(1, math.ceil(calls[0] + window - now))

    def channel_wait(self, channel: str, rate: float, burst: int) -> int | None:
        """None if a message may be posted to `channel` now (it is counted), else the Retry-After seconds."""
        with self._lock:
            now = time.monotonic()
            tokens, updated = self._buckets.get(channel, (float(burst), now))
            tokens = min(float(burst), tokens + (now - updated) * rate)
            if tokens < 1.0:
                self._buckets[channel] = (tokens, now)
                return max(1, math.ceil((1.0 - tokens) / rate))
            self._buckets[channel] = (tokens - 1.0, now)
            return None
