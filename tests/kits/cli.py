"""A `workday-resync` command started by a test, and its environment: this machine's, with the Workday
settings of a sandbox and a SQLite store of the test's own (no Redis: the embedded worker)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sync_engine.workday.sandbox import Sandbox

__all__ = ["FAKE_WORKDAY_ENV", "cli_environment", "history_json", "run_cli"]

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


def run_cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`workday-resync ARGS` in a process of its own, `stdin` typed in, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "sync_engine", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def history_json(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    """`history --json ARGS`: the runs, most recent first."""
    result = run_cli(env, "history", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]
