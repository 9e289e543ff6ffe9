"""`serve --http`'s readiness: GET /readyz answers 200 only while the store and Redis answer (503 naming the
one that does not, never a password), while GET /healthz stays 200 (liveness); one log line per change."""

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
from kits.reliability import PrivateRedis
from sqlalchemy import create_engine, make_url

from devtools.slack_emulator import SlackEmulator
from sync_engine.workday.sandbox import Sandbox, SandboxData

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(180)]

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str) -> tuple[int, Any]:
    try:
        with _OPENER.open(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def _answers(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:  # not listening yet
        return False


def _until(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)
    return value


def _connections(admin_url: str, database: str, *, allowed: bool) -> None:
    """Let the database take connections or not; when not, end those it has (as a failover would)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            connection.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
            )
    admin.dispose()


def test_readyz_follows_the_store_and_redis_while_healthz_stays_up(
    fresh_postgres_url: str, slack: SlackEmulator, tmp_path: Path
) -> None:
    store = make_url(fresh_postgres_url)
    admin_url = store.set(database="postgres").render_as_string(hide_password=False)
    redis = PrivateRedis(tmp_path)
    redis.start()
    port = free_port()
    log = tmp_path / "serve.log"
    with Sandbox(SandboxData.generate(customers=3, seed=1)) as sandbox, log.open("wb") as output:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": fresh_postgres_url,
            "REDIS_URL": redis.url,
            **sandbox.workday_env(),
            **slack.slack_env(),
        }
        command = [
            str(Path(sys.executable).parent / "workday-resync"),
            "serve",
            "--http",
            "--port",
            str(port),
        ]
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _until(lambda: process.poll() is not None or _answers(f"{url}/readyz"), "serve")
            assert _get(f"{url}/readyz") == (200, {"ok": True, "database": "ok", "redis": "ok"})

            redis.stop()
            _, body = _until(lambda: (got := _get(f"{url}/readyz"))[0] == 503 and got, "503")
            assert body == {
                "ok": False,
                "database": "ok",
                "redis": f"ConnectionError from 127.0.0.1:{redis.port}/0",
            }
            assert _get(f"{url}/healthz") == (200, {"ok": True})
            redis.start()
            _until(lambda: _get(f"{url}/readyz")[0] == 200, "ready again after Redis")

            _connections(admin_url, str(store.database), allowed=False)
            try:
                _, body = _until(lambda: (got := _get(f"{url}/readyz"))[0] == 503 and got, "503")
                assert body == {
                    "ok": False,
                    "database": f"OperationalError from {store.host}:{store.port}",
                    "redis": "ok",
                }
                assert _get(f"{url}/healthz") == (200, {"ok": True})
            finally:
                _connections(admin_url, str(store.database), allowed=True)
            _until(lambda: _get(f"{url}/readyz")[0] == 200, "ready again after the store")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            redis.stop()
    events = [json.loads(line) for line in log.read_text().splitlines()]
    changes = [
        (event["event"], event.get("database"), event.get("redis"))
        for event in events
        if event["event"] in ("Ready", "Not ready: a dependency does not answer")
    ]
    # One line per change of state (the first probe counts as one), however often it was probed.
    assert [event for event, _, _ in changes] == [
        "Ready",
        "Not ready: a dependency does not answer",
        "Ready",
        "Not ready: a dependency does not answer",
        "Ready",
    ]
