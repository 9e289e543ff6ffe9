"""Shared fixtures: real PostgreSQL and Redis when reachable.

Tests that need a server skip with the reason when it is absent, unless REQUIRE_SERVICES=1 (CI), where
its absence fails the run.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from kits.slack_bot import slack_workspace
from sqlalchemy import text

from devtools.slack_emulator import SlackEmulator
from devtools.stores import scratch_store
from sync_engine import jobs
from sync_engine.store.database import Database
from sync_engine.store.models import Base

#: Server-side test targets; override to point the suite elsewhere.
POSTGRES_URL = os.environ.get("DATABASE_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Unset: the suite claims a free database number on this server (see `redis_url`).
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL")
REDIS_SERVER_URL = REDIS_TEST_URL or "redis://127.0.0.1:6379/0"
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


#: Claims of Redis database numbers, kept in database 0 so that flushing a claimed database keeps them.
_CLAIM_KEY = "workday-resync-tests:claimed-db:{}"
_CLAIM_SECONDS = 3 * 3600  # longer than any suite; a crashed suite's claim lapses on its own


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a Redis database of this test session's own (the tests that use it may flush it).

    Two copies of the suite may run at once on one server, so each claims a free database number
    (15 down to 1; 0 is the product's default) with SET NX in database 0, and releases it at the end.
    """
    _need("Redis", REDIS_SERVER_URL)
    if REDIS_TEST_URL:
        yield REDIS_TEST_URL
        return
    claims = redis.Redis.from_url(REDIS_SERVER_URL)
    token = secrets.token_hex(8)
    count = int(claims.config_get("databases").get("databases", 16))
    for number in range(count - 1, 0, -1):
        if claims.set(_CLAIM_KEY.format(number), token, nx=True, ex=_CLAIM_SECONDS):
            break
    else:
        pytest.fail("every Redis database of the test server is claimed by another test session")
    url = REDIS_SERVER_URL.rsplit("/", 1)[0] + f"/{number}"
    redis.Redis.from_url(url).flushdb()  # ours now: clear what a crashed earlier session left
    try:
        yield url
    finally:
        if claims.get(_CLAIM_KEY.format(number)) == token.encode():
            claims.delete(_CLAIM_KEY.format(number))
        claims.close()


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """URL of an empty PostgreSQL database of this test's own (not migrated)."""
    with scratch_store(postgres_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (not migrated), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        yield request.getfixturevalue("fresh_postgres_url")


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


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    """A Slack workspace emulated over HTTP (the Slack app's tests and the emulator's own)."""
    with slack_workspace() as emulator:
        yield emulator
