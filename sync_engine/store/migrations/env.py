"""Alembic environment: applies the revisions on the connection `Database.migrate()` hands over.

Run by hand instead (e.g. to autogenerate a revision), it connects to `sqlalchemy.url` from the Alembic
config, or else to DATABASE_URL from the settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from sync_engine.store.models import Base


def run_migrations(connection: Connection) -> None:
    """Apply the pending revisions on `connection`, inside the transaction it may already have."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters little in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_standalone() -> None:
    """Connect on our own: Alembic was started without `Database.migrate()`."""
    from sync_engine.settings import load_settings
    from sync_engine.store.database import Database, sqlite_foreign_keys_off

    url = context.config.get_main_option("sqlalchemy.url") or load_settings().database_url
    database = Database(url, pool_size=1)
    try:
        with database.engine.connect() as connection, sqlite_foreign_keys_off(connection), connection.begin():
            run_migrations(connection)
    finally:
        database.dispose()


handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    run_migrations(handed_over)
else:
    run_standalone()
