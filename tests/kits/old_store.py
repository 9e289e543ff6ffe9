"""A store as an earlier release left it: migrated only up to a given revision, with runs written in
that revision's shape (e.g. the Slack status's string-keyed notes before revision 0006)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext

from sync_engine.store.database import MIGRATIONS_DIR, Database, sqlite_foreign_keys_off

#: The last revision that kept a run's front-end facts as notes (`batch_runs.extra`).
NOTES_REVISION = "0005"

_TIMESTAMP = sa.DateTime(timezone=True)
_runs = sa.table(
    "batch_runs",
    sa.column("id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("identifier_type", sa.String()),
    sa.column("requested_by", sa.String()),
    sa.column("created_at", _TIMESTAMP),
    sa.column("confirmed_at", _TIMESTAMP),
    sa.column("started_at", _TIMESTAMP),
    sa.column("finished_at", _TIMESTAMP),
    sa.column("updated_at", _TIMESTAMP),
    sa.column("error", sa.Text()),
    sa.column("slack_channel", sa.String()),
    sa.column("slack_message_ts", sa.String()),
    sa.column("extra", sa.JSON()),
)
_items = sa.table(
    "run_items",
    sa.column("run_id", sa.Integer()),
    sa.column("position", sa.Integer()),
    sa.column("identifier", sa.String()),
    sa.column("status", sa.String()),
    sa.column("invoices", sa.Integer()),
    sa.column("payments", sa.Integer()),
    sa.column("credit_notes", sa.Integer()),
    sa.column("attempts", sa.Integer()),
)


def migrate_to(url: str, revision: str) -> None:
    """Migrate the database at `url` up or down to `revision`, the way `Database.migrate` goes to head
    (SQLite without foreign key enforcement while its tables are copied)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    database = Database(url)
    try:
        with (
            database.engine.connect() as connection,
            sqlite_foreign_keys_off(connection),
            connection.begin(),
        ):
            config.attributes["connection"] = connection
            current = MigrationContext.configure(connection).get_current_revision()
            if current is not None and current > revision:
                command.downgrade(config, revision)
            else:
                command.upgrade(config, revision)
    finally:
        database.dispose()


def insert_noted_run(
    url: str,
    *,
    status: str,
    identifiers: Sequence[str],
    at: datetime,
    notes: dict[str, Any],
    channel: str | None = None,
    ts: str | None = None,
    finished_at: datetime | None = None,
    error: str | None = None,
) -> int:
    """A confirmed run as revisions up to `NOTES_REVISION` stored it, with its pending items."""
    database = Database(url)
    try:
        with database.engine.begin() as connection:
            run_id = connection.execute(
                _runs.insert()
                .values(
                    status=status,
                    identifier_type="reference",
                    requested_by="U_ADMIN",
                    created_at=at,
                    confirmed_at=at,
                    started_at=finished_at,
                    finished_at=finished_at,
                    updated_at=finished_at or at,
                    error=error,
                    slack_channel=channel,
                    slack_message_ts=ts,
                    extra=notes,
                )
                .returning(_runs.c.id)
            ).scalar_one()
            connection.execute(
                _items.insert(),
                [
                    dict(
                        run_id=run_id,
                        position=position,
                        identifier=identifier,
                        status="pending" if finished_at is None else "unresolved",
                        invoices=0,
                        payments=0,
                        credit_notes=0,
                        attempts=0,
                    )
                    for position, identifier in enumerate(identifiers)
                ],
            )
        return int(run_id)
    finally:
        database.dispose()


def notes_of(url: str, run_id: int) -> dict[str, Any]:
    """The run's notes, on a store at `NOTES_REVISION` or older."""
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            notes: dict[str, Any] = connection.execute(
                sa.select(_runs.c.extra).where(_runs.c.id == run_id)
            ).scalar_one()
            return notes
    finally:
        database.dispose()
