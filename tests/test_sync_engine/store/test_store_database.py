"""`Database`: URLs, connection settings, and sessions that are one transaction each."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from sync_engine.store.database import Database, normalise_url
from sync_engine.store.models import BatchRunRow, InvoiceRow

NOW = datetime(2025, 11, 27, 9, 30, 0, 123456, tzinfo=UTC)


def batch_run(requested_by: str = "U1", at: datetime = NOW) -> BatchRunRow:
    return BatchRunRow(
        status="received",
        identifier_type="reference",
        requested_by=requested_by,
        created_at=at,
        updated_at=at,
    )


def count_runs(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(BatchRunRow)) or 0


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:secret@db:5432/ar",
        "postgresql://u:secret@db:5432/ar",
        "postgresql+psycopg://u:secret@db/ar",
    ],
)
def test_postgres_urls_use_psycopg_3(url: str) -> None:
    database = Database(url)  # connects lazily: no server needed

    assert database.dialect == "postgresql"
    assert database.url.startswith("postgresql+psycopg://u:secret@db")
    assert "secret" not in repr(database)
    assert normalise_url(url).drivername == "postgresql+psycopg"
    database.dispose()


def test_unsupported_url_is_refused() -> None:
    with pytest.raises(ValueError, match="Unsupported database URL"):
        Database("mysql://u@db/ar")


def test_sqlite_file_gets_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "store.db"

    database = Database(f"sqlite:///{path}")
    database.migrate()

    assert database.dialect == "sqlite"
    assert path.is_file()
    database.dispose()


def test_sqlite_connections_are_configured(sqlite_database: Database) -> None:
    with sqlite_database.engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("foreign_keys", "journal_mode", "busy_timeout")
        }
    assert pragmas == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 30_000}


def test_session_commits_when_the_block_ends(database: Database) -> None:
    with database.session() as session:
        session.add(batch_run())

    assert count_runs(database) == 1


def test_session_rolls_back_everything_when_the_block_raises(database: Database) -> None:
    with database.session() as session:
        session.add(batch_run("kept"))

    with pytest.raises(RuntimeError, match="boom"), database.session() as session:
        session.add(batch_run("flushed, then rolled back"))
        session.flush()
        session.execute(text("UPDATE batch_runs SET requested_by = 'changed'"))
        raise RuntimeError("boom")

    with database.session() as session:
        assert session.scalars(select(BatchRunRow.requested_by)).all() == ["kept"]


def test_foreign_keys_are_enforced(database: Database) -> None:
    orphan = InvoiceRow(
        wid="f" * 32,
        customer_pk=12345,
        currency="USD",
        synced_at=NOW,
        invoice_number="INV-1",
        total_amount=1,
    )
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(orphan)


def test_timestamps_are_stored_as_instants_and_read_back_in_utc(database: Database) -> None:
    # 11:30 at UTC+02:00 is 09:30 UTC; SQLite keeps no offset, so the store must convert first.
    local = datetime(2025, 11, 27, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    with database.session() as session:
        session.add(batch_run(at=local))

    with database.session() as session:
        created_at = session.scalars(select(BatchRunRow.created_at)).one()
        later = session.scalar(
            select(func.count()).select_from(BatchRunRow).where(BatchRunRow.created_at > NOW)
        )
    assert created_at == local
    assert created_at.tzinfo == UTC
    assert later == 0  # compared in SQL as 09:30 UTC, not as the wall-clock 11:30


def test_sqlite_writers_queue_for_the_lock_instead_of_failing(sqlite_database: Database) -> None:
    # Each writer reads, dawdles, then writes. With SQLite's default deferred BEGIN, the second one's
    # read snapshot is stale by the time it writes, and SQLite fails it at once ("database is locked")
    # whatever the busy timeout; BEGIN IMMEDIATE makes it wait for the first to commit instead.
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def read_then_write(name: str) -> None:
        start.wait()
        try:
            with sqlite_database.session() as session:
                session.scalar(select(func.count()).select_from(BatchRunRow))
                time.sleep(0.2)
                session.add(batch_run(name))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=read_then_write, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert errors == []
    assert count_runs(sqlite_database) == 2


def test_in_memory_sqlite_is_one_database_for_the_engine() -> None:
    database = Database("sqlite://")
    database.migrate()

    with database.session() as session:
        session.add(batch_run())

    assert count_runs(database) == 1
    database.dispose()


@pytest.mark.postgres
def test_postgres_time_zone_setting_does_not_shift_timestamps(postgres_database: Database) -> None:
    naive_utc = NOW.replace(tzinfo=None)
    with postgres_database.session() as session:
        session.execute(text("SET LOCAL TIME ZONE 'Asia/Kolkata'"))
        session.add(batch_run(at=naive_utc))  # a naive value is taken as UTC, not as Kolkata time
        session.flush()
        created_at = session.scalars(select(BatchRunRow.created_at)).one()  # read in Kolkata time

    assert created_at == NOW
    assert created_at.tzinfo == UTC
