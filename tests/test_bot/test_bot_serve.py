"""`workday-resync serve`: HTTP mode as a real process (the product's front door), Socket Mode chosen when
SLACK_APP_TOKEN is set, and a clear one-line error when a setting is missing."""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kits.metrics import free_port, scrape
from kits.slack_bot import ADMIN, CHANNEL, records_files
from pydantic import SecretStr

import bot.serve
from bot.ids import COMMAND, ActionId, BlockId
from bot.settings import AppSettings
from devtools.slack_emulator import SlackEmulator
from sync_engine.errors import SettingsError
from sync_engine.workday.sandbox import Sandbox, SandboxData

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _serve_env(slack: SlackEmulator, sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "WORKDAY_BASE_URL": sandbox.base_url,
        "WORKDAY_TENANT": sandbox.tenant,
        "WORKDAY_CLIENT_ID": sandbox.client_id,
        "WORKDAY_CLIENT_SECRET": sandbox.client_secret,
        "WORKDAY_REFRESH_TOKEN": sandbox.refresh_token,
        "WORKDAY_RATE_LIMIT": "500",
        **slack.slack_env(),
    }


def _serve_http(port: int) -> list[str]:
    return [str(Path(sys.executable).parent / "workday-resync"), "serve", "--http", "--port", str(port)]


@pytest.fixture
def served(slack: SlackEmulator, sandbox_data: SandboxData, tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    with Sandbox(sandbox_data) as sandbox:
        env = _serve_env(slack, sandbox, tmp_path)
        command = _serve_http(port)
        log = tmp_path / "serve.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command, env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT
            )
            try:
                url = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + 20
                while not _healthy(url):
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "serve did not come up"
                    time.sleep(0.1)
                yield Served(url, process, log)
            finally:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()


def _healthy(url: str) -> bool:
    try:
        with _OPENER.open(f"{url}/healthz", timeout=1) as response:
            return bool(response.status == 200 and json.loads(response.read()) == {"ok": True})
    except OSError:
        return False


def test_serve_over_http_runs_the_whole_journey_and_stops_cleanly(
    served: Served, slack: SlackEmulator
) -> None:
    events = f"{served.url}/slack/events"
    forged = urllib.request.Request(
        events,
        data=b"command=%2Fworkday-resync",
        headers={"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        _OPENER.open(forged, timeout=5)
    assert refused.value.code == 401

    ana = slack.user(ADMIN, app_url=events)
    assert ana.slash_command(COMMAND, channel=CHANNEL).error is None
    ana.open_view(timeout=5)
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "C-000002\nC-000003")
    assert ana.submit().error is None  # Synchronize: the form becomes the confirmation
    assert ana.submit().error is None  # Confirm

    def completed() -> dict[str, Any] | None:
        for message in slack.messages(CHANNEL):
            if ":white_check_mark: Completed" in json.dumps(message["blocks"]):
                return message
        return None

    message = slack.wait_for(completed, timeout=20)
    [records] = slack.wait_for(lambda: records_files(slack))
    assert records["content"] == b"C-000002\nC-000003\n"
    assert records["thread_ts"] == message["ts"]

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=15) == 0
    logged = served.log.read_text()
    assert slack.bot_token not in logged and slack.signing_secret not in logged


MARKER = "FORGED-MARKER-51d0"


def _hang_up(port: int, request: bytes) -> None:
    """Send `request` and reset the connection (SO_LINGER 0) without reading the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.sendall(request)


def test_every_line_serve_prints_is_json_whatever_clients_send_or_drop(served: Served) -> None:
    port = int(served.url.rsplit(":", 1)[1])
    partial = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\ntext=partial"
    for _ in range(20):
        _hang_up(port, partial)  # gone mid-body
        _hang_up(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")  # gone before the answer
    events = f"{served.url}/slack/events"
    body = f"command=%2Fworkday-resync&text={MARKER}&token={MARKER}&user_id=U_{MARKER}".encode()
    for timestamp in (str(int(time.time())), "abc"):
        forged = urllib.request.Request(
            events, data=body, headers={"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=00"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            _OPENER.open(forged, timeout=5)
        assert refused.value.code == 401
    assert _healthy(served.url)

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=15) == 0
    logged = served.log.read_text()
    events_logged = [json.loads(line) for line in logged.splitlines()]  # every line is one JSON event
    assert MARKER not in logged
    refusals = [e for e in events_logged if e["event"] == "Slack request refused: bad signature"]
    assert [e["reason"] for e in refusals] == ["signature does not match", "timestamp not a number"]
    assert [e for e in events_logged if e["level"] in ("error", "critical")] == []


def test_serve_on_a_port_already_taken_says_so_in_a_json_line(
    slack: SlackEmulator, sandbox_data: SandboxData, tmp_path: Path
) -> None:
    with Sandbox(sandbox_data) as sandbox, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*_serve_http(port), "--host", "127.0.0.1"],
            env=_serve_env(slack, sandbox, tmp_path),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 2
    events = [json.loads(line) for line in result.stderr.splitlines()]  # every line is one JSON event
    [error] = [event for event in events if event["level"] in ("error", "critical")]
    assert f"127.0.0.1:{port} is not available" in error["event"]
    assert "exception" not in error


def _settings(tmp_path: Path, slack: SlackEmulator, **changes: Any) -> AppSettings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'store.db'}",
        "slack_bot_token": SecretStr(slack.bot_token),
        "slack_signing_secret": SecretStr(slack.signing_secret),
        "slack_api_url": slack.api_url,
    }
    return AppSettings(**{**values, **changes})


def test_socket_mode_when_an_app_token_is_set(
    tmp_path: Path, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[object, str]] = []
    port = free_port()  # the default, 9191, may be taken on this machine
    metrics = f"http://127.0.0.1:{port}/metrics"

    class FakeSocketModeHandler:
        def __init__(self, app: object, app_token: str) -> None:
            self.app, self.app_token = app, app_token

        def start(self) -> None:
            started.append((self.app, self.app_token))
            # While connected, Prometheus (and a liveness probe) reach the app at METRICS_PORT.
            assert ("workday_resync_runs_queued_total", frozenset()) in scrape(metrics)

    import slack_bolt.adapter.socket_mode

    monkeypatch.setattr(slack_bolt.adapter.socket_mode, "SocketModeHandler", FakeSocketModeHandler)
    monkeypatch.setattr(bot.serve, "_stop_on_sigterm", lambda: None)
    monkeypatch.setattr(bot.serve, "configure_logging", lambda: None)

    settings = _settings(
        tmp_path,
        slack,
        slack_app_token=SecretStr(slack.app_token),
        metrics_host="127.0.0.1",
        metrics_port=port,
    )
    bot.serve.serve(settings, http=False, host="", port=0)

    [(app, token)] = started
    assert token == slack.app_token
    assert type(app).__name__ == "App"
    with pytest.raises(ConnectionRefusedError):  # stopped, `serve` let the port go
        socket.create_connection(("127.0.0.1", port), timeout=5)


@pytest.mark.parametrize(
    ("changes", "http", "message"),
    [
        ({}, False, "SLACK_APP_TOKEN is not set"),
        ({"slack_signing_secret": None}, True, "SLACK_SIGNING_SECRET is not set"),
        ({"slack_bot_token": None}, True, "SLACK_BOT_TOKEN is not set"),
    ],
)
def test_a_missing_setting_is_named(
    tmp_path: Path, slack: SlackEmulator, changes: dict[str, Any], http: bool, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        bot.serve.serve(_settings(tmp_path, slack, **changes), http=http, host="127.0.0.1", port=0)
