"""The environment of a `workday-resync` command started by a test: this machine's, with the Workday
settings of a sandbox and a SQLite store of the test's own (no Redis: the embedded worker)."""

from __future__ import annotations

import os
from pathlib import Path

from sync_engine.workday.sandbox import Sandbox

__all__ = ["FAKE_WORKDAY_ENV", "cli_environment"]

#: Workday settings that pass validation and are never called (commands that fail before they would).
FAKE_WORKDAY_ENV = {
    "WORKDAY_BASE_URL": "https://wd2-impl-services1.workday.com",
    "WORKDAY_TENANT": "acme",
    "WORKDAY_CLIENT_ID": "client",
    "WORKDAY_CLIENT_SECRET": "secret",
    "WORKDAY_REFRESH_TOKEN": "refresh",
}


def cli_environment(sandbox: Sandbox, store_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WORKDAY_", "REDIS_URL"))}
    env.update(sandbox.workday_env())
    # Piped output is 160 columns wide; a terminal's is what COLUMNS says (tests/kits/terminal.py sets it).
    env.update(
        {"DATABASE_URL": f"sqlite:///{store_dir / 'store.db'}", "WORKDAY_RATE_LIMIT": "100", "COLUMNS": "200"}
    )
    return env
