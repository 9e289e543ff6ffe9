"""Engine fixtures: two stacks, SQLite with the embedded in-memory broker (the product's defaults) and
PostgreSQL with a real Redis broker (a deployment), each with a real Dramatiq worker in this process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kits.cli import cli_environment
from kits.stack import FAST_RETRY, Stack, sandbox_settings

from sync_engine import jobs
from sync_engine.broker import EmbeddedWorker, build_broker
from sync_engine.runtime import Runtime, configure
from sync_engine.service import RunService
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import Sandbox, SandboxData
from sync_engine.workday_client import build_workday_client


@pytest.fixture
def sandbox_data() -> SandboxData:
    return SandboxData.generate(customers=30, seed=11)


@pytest.fixture
def stack(
    database: Database, sandbox_data: SandboxData, request: pytest.FixtureRequest, fast_job_retries: None
) -> Iterator[Stack]:
    redis_url: str | None = None
    if database.dialect == "postgresql":
        redis_url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(redis_url).flushdb()
    with Sandbox(sandbox_data) as sandbox:
        settings = sandbox_settings(sandbox, database, redis_url)
        rt = configure(Runtime(settings, database))
        client = build_workday_client(settings, retry=FAST_RETRY)
        rt.workday_client = client
        broker = build_broker(rt)
        service = RunService(database, jobs.DramatiqDispatcher(), rt.events)
        with EmbeddedWorker(rt, broker, threads=settings.worker_threads) as worker:
            yield Stack(database, sandbox, settings, rt, broker, service, worker)
        broker.close()
        client.close()


# The terminal CLI's tests (test_cli*.py): a sandbox per module, a store per test.
@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxData.generate(customers=12, seed=3)) as sandbox:
        yield sandbox


@pytest.fixture
def environment(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    return cli_environment(sandbox, tmp_path)
