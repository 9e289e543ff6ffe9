"""A service that cannot start says why in its log format (JSON lines off a terminal, never a boxed or
bare traceback); the shipped unit gives `serve --http` the descriptors its connection cap needs."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kits.cli import FAKE_WORKDAY_ENV

from bot.http_server import DEFAULT_LIMITS, RESERVED_DESCRIPTORS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("settings", "code", "says"),
    [
        # A scheme redis-py does not know: found at start, not in each forked worker process.
        ({"REDIS_URL": "http://127.0.0.1:6379/0"}, 2, "Invalid setting REDIS_URL"),
        # A database driver that does not exist: unexpected, so its traceback is in the event.
        (
            {"REDIS_URL": "redis://127.0.0.1:1/0", "DATABASE_URL": "postgresql+nosuchdriver://x"},
            1,
            "`workday-resync worker` failed",
        ),
    ],
    ids=["bad-redis-url-scheme", "unknown-database-driver"],
)
def test_a_worker_that_cannot_start_says_why_in_json_lines_only(
    tmp_path: Path, settings: dict[str, str], code: int, says: str
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        **FAKE_WORKDAY_ENV,
        **settings,
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "workday-resync"), "worker", "--processes", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == code, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]  # every line is one JSON event
    assert [event["event"] for event in events if event["level"] in ("error", "critical")] == [
        next(event["event"] for event in events if says in event["event"])
    ]
    assert result.stdout == ""


def test_the_serve_unit_allows_the_descriptors_of_its_connection_cap() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "deploy" / "systemd" / "workday-resync-serve.service")
    # systemd's default soft limit is 1,024: the cap would not fit, and `serve` would have to lower it.
    assert int(unit["Service"]["LimitNOFILE"]) >= DEFAULT_LIMITS.max_connections + RESERVED_DESCRIPTORS
