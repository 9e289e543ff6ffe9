"""Helpers of the Workday client tests (fixtures: `conftest.py`)."""

from __future__ import annotations

from typing import Any

from sync_engine.workday import RetryPolicy, WorkdayClient
from sync_engine.workday.sandbox import Sandbox

#: Retries that keep the suite fast: same logic, millisecond waits.
FAST_RETRY = RetryPolicy(attempts=6, initial_wait=0.01, max_wait=0.05)


def make_client(sandbox: Sandbox, retry: RetryPolicy = FAST_RETRY, **overrides: Any) -> WorkdayClient:
    """A client of the sandbox, unthrottled, with a 10 s timeout unless `overrides` say otherwise."""
    settings = sandbox.workday_settings(**{"rate_limit": 1000.0, "timeout": 10.0, **overrides})
    return WorkdayClient(settings, retry=retry)
