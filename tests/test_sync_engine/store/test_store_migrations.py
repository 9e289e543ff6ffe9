"""Migrations: from an empty database to a schema with no difference from the models."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from sync_engine.store.database import MIGRATIONS_DIR, Database
from sync_engine.store.models import Base

TABLES = {
    "customers",
    "invoices",
    "credit_notes",
    "payments",
    "batch_runs",
    "run_items",
    "previous_copies",
    "previous_invoices",
    "previous_credit_notes",
    "previous_payments",
    "staged_snapshots",
    "workday_connections",
    "run_announcements",
    "run_announcement_steps",
}

#: The newest revision: the schema every process migrates to.
HEAD = "0008_run_reason"


def schema_diff(connection: Connection) -> list[Any]:
    """What autogenerate would change to make the database match the models ([] when in step)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def test_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        assert schema_diff(connection) == []
        assert revision(connection) == HEAD


def test_the_comparison_would_notice_drift(database: Database) -> None:
    # Guards the test above against comparing nothing.
    with database.engine.connect() as connection:
        connection.exec_driver_sql("DROP INDEX ix_invoices_invoice_number")
        diff = schema_diff(connection)
        connection.rollback()
    assert [change[0] for change in diff] == ["add_index"]


def test_migrate_from_empty_then_again(empty_database_url: str) -> None:
    database = Database(empty_database_url)

    database.migrate()
    database.migrate()  # already at head: nothing to do

    with database.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == TABLES | {"alembic_version"}
        assert revision(connection) == HEAD
        assert schema_diff(connection) == []
    database.dispose()


def test_processes_starting_at_once_migrate_once(empty_database_url: str) -> None:
    # Stand-ins for worker processes: each has its own Database (engine, pool) on the same database.
    databases = [Database(empty_database_url, pool_size=1) for _ in range(4)]
    start = threading.Barrier(len(databases))
    errors: list[BaseException] = []

    def migrate(database: Database) -> None:
        start.wait()
        try:
            database.migrate()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=migrate, args=(database,)) for database in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    with databases[0].engine.connect() as connection:
        assert schema_diff(connection) == []
    for database in databases:
        database.dispose()


def test_sqlite_enforces_foreign_keys_again_after_migrating(tmp_path: Path) -> None:
    # Migrations run with enforcement off (SQLite's table rebuilds would cascade); the pooled
    # connection they used must come back with it on.
    database = Database(f"sqlite:///{tmp_path / 'store.db'}", pool_size=1)
    database.migrate()

    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database.dispose()


def test_alembic_run_by_hand_migrates_the_configured_database(tmp_path: Path) -> None:
    # How a developer autogenerates the next revision: Alembic without Database.migrate().
    url = f"sqlite:///{tmp_path / 'by-hand.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)

    command.upgrade(config, "head")

    database = Database(url)
    with database.engine.connect() as connection:
        assert revision(connection) == HEAD
        assert schema_diff(connection) == []
    database.dispose()
