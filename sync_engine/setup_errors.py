"""One line for a broken setup: a store or Redis that does not answer (or refuses us), named by its setting
with what to check, instead of a driver's traceback. Front ends print it; `--debug` adds the traceback."""

from __future__ import annotations

from urllib.parse import urlsplit

import redis
from sqlalchemy.exc import OperationalError

from sync_engine.errors import SettingsError, SetupError
from sync_engine.settings import load_settings
from sync_engine.store.database import Database

__all__ = ["explain", "require_redis"]

#: Seconds a start-up check of Redis may take before it counts as not answering.
REDIS_CHECK_TIMEOUT = 5.0


def explain(error: BaseException) -> SetupError | None:
    """The one-line `SetupError` for `error` (or an exception it was raised from), or None if it is not
    a known setup problem."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OperationalError):
            return _store(seen)
        if isinstance(seen, redis.ConnectionError | redis.TimeoutError):
            return _redis(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def require_redis() -> None:
    """With REDIS_URL set, `SetupError` unless Redis answers: a run is only stored once it can be sent."""
    settings = load_settings()
    if not settings.redis_url:
        return
    client = redis.Redis.from_url(
        settings.redis_url, socket_timeout=REDIS_CHECK_TIMEOUT, socket_connect_timeout=REDIS_CHECK_TIMEOUT
    )
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as error:
        raise _redis(error) from error
    finally:
        client.close()


def _store(error: OperationalError) -> SetupError | None:
    try:
        database = Database(load_settings().database_url)
    except (SettingsError, ValueError):
        return None
    try:
        reason = database.redact(_first_line(error.orig) if error.orig is not None else str(error))
    finally:
        database.dispose()
    if database.dialect == "sqlite":
        if "unable to open" not in reason:
            return None  # e.g. "database is locked": a store that is there, busy
        return SetupError(
            f"The store cannot be opened (DATABASE_URL: SQLite file {database.server}): {reason}. "
            "Check that its directory exists and is writable."
        )
    return SetupError(
        f"The store cannot be reached (DATABASE_URL: PostgreSQL at {database.server}): {reason}. "
        "Check that PostgreSQL is running there and that DATABASE_URL names the right host, port, "
        "database, role and password."
    )


def _redis(error: redis.RedisError) -> SetupError:
    url = urlsplit(load_settings().redis_url or "")
    # Host and port (or the socket's path), never the password the URL may carry.
    where = url.path if url.scheme == "unix" else f"{url.hostname or 'localhost'}:{url.port or 6379}"
    return SetupError(
        f"Redis cannot be reached (REDIS_URL: {where}): {_first_line(error).rstrip('.')}. "
        "Check that Redis is running there, or unset REDIS_URL to run jobs inside this process."
    )


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(error).__name__
