"""Fixtures of the Workday client and sandbox tests: a sandbox on real sockets, a client of it, plain
HTTP and Redis clients. A module wanting other data overrides `sandbox_data`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from kits.workday import make_client

from sync_engine.workday import WorkdayClient
from sync_engine.workday.sandbox import Sandbox, SandboxData


@pytest.fixture
def sandbox_data() -> SandboxData:
    """The tenant's data: a dozen customers, one with 250 documents (several pages)."""
    return SandboxData.generate(customers=12, seed=7, big_customer_documents=250)


@pytest.fixture
def sandbox(sandbox_data: SandboxData) -> Iterator[Sandbox]:
    with Sandbox(sandbox_data) as running:
        yield running


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[WorkdayClient]:
    with make_client(sandbox) as created:
        yield created


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """Plain HTTP to the sandbox, for the wire itself."""
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    """Redis keys of this test's own gates and tokens, deleted after it (the Redis is shared)."""
    prefix = f"test-workday:{uuid.uuid4().hex}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}*"))
    if keys:
        redis_client.delete(*keys)
