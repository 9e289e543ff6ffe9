"""One handle on the store: engine, transactional sessions and migrations, for SQLite or PostgreSQL.

Several worker processes (and threads) share one database. On PostgreSQL that is ordinary; on SQLite it
needs WAL, a busy timeout and `BEGIN IMMEDIATE` so that writers queue for the lock instead of failing.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential_jitter,
    wait_random_exponential,
)

from sync_engine.errors import SettingsError

__all__ = ["Database", "DialectName", "normalise_url"]

log = logging.getLogger(__name__)

DialectName = Literal["sqlite", "postgresql"]

#: Where Alembic finds env.py and the revisions (shipped inside the package).
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: pg_advisory_lock key serialising `migrate()` across processes (any constant unique to this service).
MIGRATION_LOCK_KEY = 0x5752_5359_4E43  # "WRSYNC"
#: Seconds a SQLite writer waits for the write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_S = 30
#: Oldest SQLite with what the store uses: upsert (3.24) with RETURNING (3.35).
MIN_SQLITE_VERSION = (3, 35)
#: Connections the PostgreSQL pool may open beyond `pool_size` under bursts.
POOL_MAX_OVERFLOW = 5
#: How long a process starting while PostgreSQL does not answer keeps trying before it gives up (and its
#: supervisor restarts it): a server restart or a failover, with room to spare.
STARTUP_PATIENCE_S = 15 * 60
#: Seconds between two start-up attempts: 1, 2, 4, … (plus up to 1 s of jitter), at most this.
STARTUP_MAX_WAIT_S = 30
#: What waiting cannot fix: a wrong database name, role or password, or a host that refuses us.
_CONFIGURATION_ERRORS = ("does not exist", "authentication failed", "no pg_hba.conf entry")

_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}


def normalise_url(url: str) -> URL:
    """Parse `url`, sending every PostgreSQL spelling (postgres://, postgresql://) to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_SCHEMES:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"Unsupported database URL {parsed!r}: use sqlite:/// or postgresql://.")
    return parsed


def _is_sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


class Database:
    """The store's engine plus sessions that are each exactly one transaction."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self._url = normalise_url(url)
        self.dialect: DialectName = "sqlite" if self._url.get_backend_name() == "sqlite" else "postgresql"
        self.engine: Engine = (
            _sqlite_engine(self._url, pool_size)
            if self.dialect == "sqlite"
            else _postgres_engine(self._url, pool_size)
        )
        # expire_on_commit=False: rows read in a session stay readable after it commits.
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The URL in use (with the psycopg driver for PostgreSQL), password included."""
        return self._url.render_as_string(hide_password=False)

    @property
    def server(self) -> str:
        """Host and port of a PostgreSQL store (never its password), or the SQLite file."""
        if self.dialect == "sqlite":
            return str(self._url.database)
        return f"{self._url.host or 'localhost'}:{self._url.port or 5432}"

    def __repr__(self) -> str:
        return f"Database({self._url.render_as_string(hide_password=True)!r})"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session inside one transaction: committed when the block ends, rolled back if it raises.

        On SQLite every session takes the write lock when it first touches the database (even one that
        only reads), so sessions should be short; other writers wait up to the busy timeout.
        """
        with self._sessions() as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Upgrade the schema to the newest revision, in one transaction; safe when several processes
        start at once."""
        with self._migrating() as (config, connection):
            try:
                command.upgrade(config, "head")
            except CommandError as error:
                raise self._schema_too_new(config, connection) from error

    def downgrade(self, revision: str) -> None:
        """Take the schema back to `revision` (a rollback: run by the release that upgraded it, the one
        that holds the downgrade steps); `SettingsError` for a revision this release does not know."""
        with self._migrating() as (config, _connection):
            try:
                ScriptDirectory.from_config(config).get_revision(revision)
            except CommandError:
                raise SettingsError(
                    f"Unknown schema revision {revision!r}: this release knows 0001 to {_newest(config)}."
                ) from None
            command.downgrade(config, revision)

    @contextmanager
    def _migrating(self) -> Iterator[tuple[Config, Connection]]:
        """Alembic's config on one connection in one transaction, migrations serialised across processes.

        PostgreSQL serialises them with a transaction-level advisory lock; SQLite with the write lock
        that `BEGIN IMMEDIATE` takes. SQLite's foreign keys are off meanwhile (a table copy would
        otherwise cascade-delete its children) and checked before the commit.
        """
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        with self.engine.connect() as connection, sqlite_foreign_keys_off(connection), connection.begin():
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            # env.py runs on this connection, inside this transaction.
            config.attributes["connection"] = connection
            yield config, connection
            if self.dialect == "sqlite" and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                raise RuntimeError("Migration left rows whose foreign keys point nowhere; rolled back.")

    def _schema_too_new(self, config: Config, connection: Connection) -> Exception:
        """The error for a store a newer release migrated (a rollback done in the wrong order), else
        `RuntimeError` for Alembic's error (a broken migration chain: ours, not the operator's)."""
        found = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        newest = _newest(config)
        if found is None or found == newest:
            return RuntimeError(f"The schema migration failed at revision {found}.")
        return SettingsError(
            f"The store at {self.server} has schema revision {found}, which this version of workday-resync "
            f"does not know (its newest is {newest}): a newer release upgraded it. Run that release, or "
            'downgrade the schema with it first (deploy/RUNBOOK.md, "Upgrade and roll back").'
        )

    def migrate_when_reachable(self, *, patience: float = STARTUP_PATIENCE_S) -> None:
        """`migrate()` for a process starting up: while PostgreSQL does not answer (an outage, a restart),
        try again with backoff for up to `patience` seconds, logging each failed attempt; then raise."""
        for attempt in Retrying(
            retry=retry_if_exception(self._worth_waiting_for),
            wait=wait_exponential_jitter(initial=1, max=STARTUP_MAX_WAIT_S),
            stop=stop_after_delay(patience),
            before_sleep=self._log_unreachable,
            reraise=True,
        ):
            with attempt:
                self.migrate()

    def _worth_waiting_for(self, error: BaseException) -> bool:
        return (
            self.dialect == "postgresql"
            and isinstance(error, OperationalError)
            and not any(reason in str(error) for reason in _CONFIGURATION_ERRORS)
        )

    def _log_unreachable(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "PostgreSQL is not reachable; the start-up migration will try again",
            extra={
                "database_host": self.server,
                "attempt": state.attempt_number,
                "wait_seconds": round(state.upcoming_sleep, 1),
                "waited_seconds": round(state.seconds_since_start or 0.0, 1),
                "gives_up_after_seconds": STARTUP_PATIENCE_S,
                "error": self.redact(str(getattr(error, "orig", error)).splitlines()[0] if error else ""),
            },
        )

    def redact(self, text: str) -> str:
        """`text` without the store's password (should a driver ever quote the URL)."""
        password = self._url.password
        return text.replace(str(password), "***") if password else text

    def dispose(self) -> None:
        """Close every pooled connection (call when the process is done with the store)."""
        self.engine.dispose()


def _postgres_engine(url: URL, pool_size: int) -> Engine:
    # pre_ping: a worker idle for hours otherwise finds its pooled connection closed by the server.
    return create_engine(url, pool_size=pool_size, max_overflow=POOL_MAX_OVERFLOW, pool_pre_ping=True)


def _sqlite_engine(url: URL, pool_size: int) -> Engine:
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old: the store needs 3.35 or later.")
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    if _is_sqlite_memory(url):
        # One in-memory database shared by the engine's users; only for single-threaded use (tests).
        connect_args["check_same_thread"] = False
        engine = create_engine(url, connect_args=connect_args, poolclass=StaticPool)
    else:
        assert url.database is not None
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args=connect_args, pool_size=pool_size)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module (which would issue a deferred one on the first write);
    # `_begin_immediate` issues it instead. SQLAlchemy's documented recipe for pysqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")  # off by default, per connection
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a crash can lose only the last commits
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    finally:
        cursor.close()


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Readers do not block the writer, nor it them. The mode is kept in the file, so only a new database
    is switched; the switch fails at once (no busy wait) while another connection holds a lock, as when
    several processes open a new store together, so it is retried."""
    for attempt in Retrying(
        retry=retry_if_exception(lambda error: "locked" in str(error)),
        wait=wait_random_exponential(multiplier=0.01, max=0.5),
        stop=stop_after_delay(SQLITE_BUSY_TIMEOUT_S),
        reraise=True,
    ):
        with attempt:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")


def _newest(config: Config) -> str | None:
    return ScriptDirectory.from_config(config).get_current_head()


@contextmanager
def sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite without foreign key enforcement while the block runs (no-op on PostgreSQL).

    SQLite alters a table by copying it and dropping the original; with enforcement on, dropping
    `customers` would cascade-delete every document. SQLite ignores this pragma inside a transaction,
    so it is set on the raw connection before the migration's transaction begins.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        dbapi_connection.execute("PRAGMA foreign_keys=ON")


def _begin_immediate(connection: Connection) -> None:
    # A deferred transaction that reads and then writes must upgrade its lock, and SQLite fails that
    # upgrade at once ("database is locked") when another writer got there first; taking the write
    # lock up front makes concurrent writers wait out the busy timeout in turn instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
