"""Workday client: OAuth, the politeness gate, SOAP and REST, retries; see `WorkdayClient`.

One client per process, shared by its threads; processes share limits and token through Redis:

>>> gate = RedisGate.for_settings(redis_client, settings)
>>> store = RedisTokenStore(redis_client, f"workday-resync:{settings.tenant}:token")
>>> with WorkdayClient(settings, gate=gate, token_store=store) as client:
...     resolution = client.resolve_customers(identifiers, IdentifierType.REFERENCE)
...     client.fetch_customers(list(resolution.found.values()), write)  # write(snapshot), each as complete
"""

from __future__ import annotations

from sync_engine.workday.auth import MemoryTokenStore, RedisTokenStore, TokenState, TokenStore
from sync_engine.workday.client import (
    CUSTOMERS_PER_REQUEST,
    INVOICES_PAGE_SIZE,
    PAYMENTS_PAGE_SIZE,
    WorkdayClient,
)
from sync_engine.workday.gate import LocalGate, RequestGate
from sync_engine.workday.redis_gate import RedisGate
from sync_engine.workday.transport import RetryPolicy

__all__ = [
    "CUSTOMERS_PER_REQUEST",
    "INVOICES_PAGE_SIZE",
    "PAYMENTS_PAGE_SIZE",
    "LocalGate",
    "MemoryTokenStore",
    "RedisGate",
    "RedisTokenStore",
    "RequestGate",
    "RetryPolicy",
    "TokenState",
    "TokenStore",
    "WorkdayClient",
]
