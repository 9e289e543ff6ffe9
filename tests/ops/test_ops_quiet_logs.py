"""A service's log is ours: one JSON line per event we own; other libraries' chatter below WARNING (alembic's
migration lines, Dramatiq's boot lines, Bolt's notice about the token) only with LOG_LEVEL=debug."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kits.metrics import free_port

from devtools.slack_emulator import SlackEmulator
from sync_engine.workday.sandbox import Sandbox, SandboxData

CLI = str(Path(sys.executable).parent / "workday-resync")
OURS = ("sync_engine", "bot")


def _environment(tmp_path: Path, sandbox: Sandbox, **more: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",  # a new store: every migration runs
        **sandbox.workday_env(),
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(free_port()),
        "METRICS_DIR": str(tmp_path / "metrics"),
        **more,
    }


def _run_until(command: list[str], env: dict[str, str], log: Path, ready: Callable[[], bool]) -> list[Any]:
    """Start `command`, wait until `ready`, stop it with SIGTERM; its log's events (each line one JSON)."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=log.parent, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the process did not come up"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return [json.loads(line) for line in log.read_text().splitlines()]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def sandbox() -> Any:
    with Sandbox(SandboxData.generate(customers=4, seed=2)) as sandbox:
        yield sandbox


def test_serve_logs_only_our_events(tmp_path: Path, sandbox: Sandbox, slack: SlackEmulator) -> None:
    port = free_port()
    env = _environment(tmp_path, sandbox, **slack.slack_env())
    command = [CLI, "serve", "--http", "--host", "127.0.0.1", "--port", str(port)]

    events = _run_until(command, env, tmp_path / "serve.log", lambda: _healthy(f"http://127.0.0.1:{port}"))

    assert "Serving Slack over HTTP" in [event["event"] for event in events]
    assert [e for e in events if not e["logger"].startswith(OURS)] == []


def test_serve_logs_libraries_too_with_log_level_debug(
    tmp_path: Path, sandbox: Sandbox, slack: SlackEmulator
) -> None:
    port = free_port()
    env = _environment(tmp_path, sandbox, **slack.slack_env(), LOG_LEVEL="debug")
    command = [CLI, "serve", "--http", "--host", "127.0.0.1", "--port", str(port)]

    events = _run_until(command, env, tmp_path / "serve.log", lambda: _healthy(f"http://127.0.0.1:{port}"))

    assert any(event["logger"].startswith("alembic") for event in events)
    assert {event["logger"].partition(".")[0] for event in events if event["level"] == "debug"} >= {
        "dramatiq"
    }


def test_worker_logs_only_our_events(tmp_path: Path, sandbox: Sandbox, redis_url: str) -> None:
    env = _environment(tmp_path, sandbox, REDIS_URL=redis_url)
    log = tmp_path / "worker.log"

    def booted() -> bool:  # each worker process logs the plugins it installed
        return "Plugin installed" in log.read_text()

    events = _run_until([CLI, "worker", "--processes", "1", "--threads", "1"], env, log, booted)

    assert [e for e in events if not e["logger"].startswith(OURS)] == []
