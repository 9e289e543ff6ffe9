"""Throwaway stores, for benchmarks (the configured store is never written to) and the tests.

SQLite: a file in a temporary directory. PostgreSQL: a new database on the server the URL names (the
role needs CREATEDB), dropped afterwards.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine

from sync_engine.errors import SettingsError
from sync_engine.store.database import normalise_url

__all__ = ["scratch_store"]


@contextmanager
def scratch_store(postgres_url: str | None) -> Iterator[str]:
    """The URL of an empty store: on the PostgreSQL server of `postgres_url`, else a SQLite file."""
    if postgres_url is None:
        with tempfile.TemporaryDirectory(prefix="workday-resync-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    url = normalise_url(postgres_url)
    name = f"workday_resync_scratch_{secrets.token_hex(4)}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except Exception as error:
            raise SettingsError(
                f"Cannot create a scratch database on {url.host}: "
                f"{type(error).__name__} (the role needs CREATEDB)."
            ) from None
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
