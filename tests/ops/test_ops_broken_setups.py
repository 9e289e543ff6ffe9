"""Every broken setup a newcomer meets ends in one line naming the setting or the service and what to check,
with a non-zero exit and no traceback (`--debug` or `LOG_LEVEL=debug` shows it). Real processes against
real services: a closed port is a server that is down, the Slack emulator refuses a wrong token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kits.cli import FAKE_WORKDAY_ENV
from kits.metrics import free_port

from devtools.slack_emulator import SlackEmulator

CLI = str(Path(sys.executable).parent / "workday-resync")


def _run(tmp_path: Path, args: list[str], **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        **FAKE_WORKDAY_ENV,
        **settings,
    }
    return subprocess.run(
        [CLI, *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command's one line: `Error: …` from a terminal command, an error event from a service."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    if line.startswith("{"):  # a service logs it as its one JSON event
        event = json.loads(line)
        assert event["level"] == "error" and "exception" not in event
        return str(event["event"])
    return line


def test_a_database_server_that_is_down_is_named_with_what_to_check(tmp_path: Path) -> None:
    port = free_port()
    url = f"postgresql://resync:pa55word@127.0.0.1:{port}/ar"

    line = _one_line(_run(tmp_path, ["history"], DATABASE_URL=url))

    assert line.startswith(
        f"Error: The store cannot be reached (DATABASE_URL: PostgreSQL at 127.0.0.1:{port})"
    )
    assert "Connection refused" in line and "Check that PostgreSQL is running" in line
    assert "pa55word" not in line


def test_serve_with_its_database_down_logs_one_error_event(tmp_path: Path, slack: SlackEmulator) -> None:
    port = free_port()
    settings = {**slack.slack_env(), "DATABASE_URL": f"postgresql://resync@127.0.0.1:{port}/ar"}

    line = _one_line(_run(tmp_path, ["serve", "--http", "--port", "0"], **settings))

    assert line.startswith(f"The store cannot be reached (DATABASE_URL: PostgreSQL at 127.0.0.1:{port})")


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (
            {"REDIS_URL": "notaurl"},
            "Error: Invalid setting REDIS_URL: must start with redis://, rediss:// or unix://.",
        ),
        (
            {"DATABASE_URL": "mysql://resync@db/ar"},
            "Error: Invalid setting DATABASE_URL: use sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE "
            "(not mysql://).",
        ),
        ({"DATABASE_URL": "notaurl"}, "Error: Invalid setting DATABASE_URL: use sqlite:///FILE or"),
    ],
    ids=["redis-url-not-a-url", "database-scheme-wrong", "database-url-not-a-url"],
)
def test_a_malformed_url_is_named(tmp_path: Path, settings: dict[str, str], says: str) -> None:
    assert _one_line(_run(tmp_path, ["history"], **settings)).startswith(says)


def test_sync_with_redis_down_says_so_at_once_and_stores_nothing(tmp_path: Path) -> None:
    port = free_port()

    line = _one_line(
        _run(
            tmp_path, ["sync", "--type", "reference", "C-1", "--yes"], REDIS_URL=f"redis://127.0.0.1:{port}/0"
        )
    )

    assert line.startswith(f"Error: Redis cannot be reached (REDIS_URL: 127.0.0.1:{port})")
    assert "Check that Redis is running there" in line
    history = _run(tmp_path, ["history", "--json"])
    assert json.loads(history.stdout) == []


@pytest.mark.parametrize(
    "api_url",
    ["http://127.0.0.1:{closed}/api/", "http://slack.invalid/api/"],
    ids=["refused", "dns-error"],
)
def test_serve_that_cannot_reach_slack_names_slack_api_url(tmp_path: Path, api_url: str) -> None:
    url = api_url.format(closed=free_port())
    line = _one_line(
        _run(
            tmp_path,
            ["serve"],
            SLACK_BOT_TOKEN="xoxb-fake",
            SLACK_APP_TOKEN="xapp-fake",
            SLACK_API_URL=url,
            METRICS_PORT=str(free_port()),
        )
    )

    assert line.startswith(f"Slack's Web API cannot be reached at {url} (SLACK_API_URL)")
    assert "Check this host's DNS, network and proxy" in line


def test_serve_with_a_wrong_bot_token_names_it(tmp_path: Path, slack: SlackEmulator) -> None:
    settings = {**slack.slack_env(), "SLACK_BOT_TOKEN": "xoxb-0-0-wrong"}

    line = _one_line(_run(tmp_path, ["serve", "--http", "--port", "0"], **settings))

    assert line.startswith("Slack refused SLACK_BOT_TOKEN (invalid_auth): set it to the Bot User OAuth Token")
    assert "xoxb-0-0-wrong" not in line


@pytest.mark.parametrize(
    ("app_token", "refusal"),
    [("xapp-1-A0APP00001-1-wrong", "invalid_auth"), ("{bot_token}", "not_allowed_token_type")],
    ids=["wrong", "the-bot-token"],
)
def test_socket_mode_serve_with_a_refused_app_token_names_it(
    tmp_path: Path, slack: SlackEmulator, app_token: str, refusal: str
) -> None:
    given = app_token.format(bot_token=slack.bot_token)
    settings = {**slack.slack_env(), "SLACK_APP_TOKEN": given, "METRICS_PORT": str(free_port())}

    line = _one_line(_run(tmp_path, ["serve"], **settings))

    assert line.startswith(f"Slack refused SLACK_APP_TOKEN ({refusal}): set it to an app-level token")
    assert given not in line


@pytest.mark.parametrize(
    ("args", "settings"),
    [(["--debug", "history"], {}), (["history"], {"LOG_LEVEL": "debug"})],
    ids=["--debug", "LOG_LEVEL=debug"],
)
def test_debugging_shows_the_traceback_too(tmp_path: Path, args: list[str], settings: dict[str, str]) -> None:
    result = _run(tmp_path, args, DATABASE_URL=f"postgresql://resync@127.0.0.1:{free_port()}/ar", **settings)

    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert (
        result.stderr.strip().splitlines()[-1].startswith("Error: The store cannot be reached (DATABASE_URL")
    )


def test_a_service_that_is_debugging_logs_the_traceback_in_its_error_event(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        ["serve"],
        SLACK_BOT_TOKEN="xoxb-fake",
        SLACK_APP_TOKEN="xapp-fake",
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",
        METRICS_PORT=str(free_port()),
        LOG_LEVEL="debug",
    )

    assert result.returncode == 2
    events = [json.loads(line) for line in result.stderr.splitlines()]  # still one JSON event a line
    [error] = [
        event for event in events if event["level"] == "error" and event["logger"] == "sync_engine.cli"
    ]
    assert error["event"].startswith("Slack's Web API cannot be reached")
    assert "Traceback (most recent call last)" in error["exception"]
