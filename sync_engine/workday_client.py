"""The Workday client a process uses: its request caps and token shared through Redis when there is one."""

from __future__ import annotations

from sync_engine.settings import Settings
from sync_engine.shared_state import shared_redis
from sync_engine.workday import (
    LocalGate,
    MemoryTokenStore,
    RedisGate,
    RedisTokenStore,
    RetryPolicy,
    WorkdayClient,
)

__all__ = ["build_workday_client"]


def build_workday_client(settings: Settings, *, retry: RetryPolicy | None = None) -> WorkdayClient:
    """A client whose request caps and token are shared by every process when Redis is configured."""
    workday = settings.workday()
    connection = shared_redis(settings)
    if connection is not None:
        return WorkdayClient(
            workday,
            gate=RedisGate.for_settings(connection, workday),
            token_store=RedisTokenStore(connection, f"workday-resync:token:{workday.tenant}"),
            retry=retry,
        )
    return WorkdayClient(
        workday,
        gate=LocalGate(workday.max_in_flight, workday.rate_limit),
        token_store=MemoryTokenStore(),
        retry=retry,
    )
