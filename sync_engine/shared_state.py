"""The one place that decides whether processes share state through Redis (REDIS_URL) or each keeps its own.

The Workday client's request caps and token, the connection check's cache, and the Slack app's opened
forms and replay guard ask `shared_redis`: with a client they share state across processes and hosts,
without one they keep it in this process (one process: the CLI, the demo, `serve` without Redis).
"""

from __future__ import annotations

import redis

from sync_engine.settings import Settings

__all__ = ["shared_redis"]


def shared_redis(settings: Settings, *, timeout: float | None = None) -> redis.Redis | None:
    """A client of REDIS_URL, or None when it is not set; `timeout` bounds each connect and command (a hung
    Redis then costs at most that, where an answer is due quickly)."""
    if not settings.redis_url:
        return None
    return redis.Redis.from_url(settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
