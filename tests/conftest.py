"""Shared fixtures: real PostgreSQL and Redis when reachable.

Tests that need a server skip with the reason when it is absent, unless REQUIRE_SERVICES=1 (CI), where
its absence fails the run.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

#: Server-side test targets; override to point the suite elsewhere.
POSTGRES_URL = os.environ.get("DATABASE_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=1):
            return True
    except OSError:
        return False


def _need(name: str, url: str) -> None:
    if _reachable(url):
        return
    message = f"{name} is not reachable at {url}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(f"{message} (set REQUIRE_SERVICES=1 to make this a failure)")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a reachable PostgreSQL database for tests."""
    _need("PostgreSQL", POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a reachable Redis database for tests (flushed by the tests that use it)."""
    _need("Redis", REDIS_URL)
    return REDIS_URL
