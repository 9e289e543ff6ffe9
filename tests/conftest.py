"""Shared fixtures: real PostgreSQL and Redis when reachable.

Tests that need a server skip with the reason when it is absent, unless REQUIRE_SERVICES=1 (CI), where
its absence fails the run.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from sync_engine import jobs
from sync_engine.bench.stores import scratch_store
from sync_engine.store.database import Database
from sync_engine.store.models import Base

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


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """URL of an empty PostgreSQL database of this test's own (not migrated)."""
    with scratch_store(postgres_url) as url:
        yield url


@pytest.fixture(scope="session")
def _migrated_postgres(postgres_url: str) -> Iterator[Database]:
    # One throwaway database per test session: migrating it once keeps each test fast.
    with scratch_store(postgres_url) as url:
        database = Database(url)
        database.migrate()
        yield database
        database.dispose()


@pytest.fixture
def postgres_database(_migrated_postgres: Database) -> Database:
    """A migrated store on PostgreSQL, emptied before the test."""
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with _migrated_postgres.session() as session:
        # Fail, rather than hang, if an earlier test left a transaction open on these tables.
        session.execute(text("SET LOCAL lock_timeout = '10s'"))
        session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return _migrated_postgres


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """A migrated store in a new SQLite file."""
    database = Database(f"sqlite:///{tmp_path / 'store.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Database:
    """A migrated, empty store: the test runs once on SQLite and once on PostgreSQL."""
    migrated: Database = request.getfixturevalue(f"{request.param}_database")
    return migrated


@pytest.fixture
def fast_job_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dramatiq retries (in this process) after milliseconds instead of seconds."""
    for actor in jobs.actors():
        monkeypatch.setitem(actor.options, "min_backoff", 10)
        monkeypatch.setitem(actor.options, "max_backoff", 50)
