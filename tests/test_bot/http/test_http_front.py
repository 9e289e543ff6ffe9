"""The HTTP front door under attack: idle connections hold no thread and are closed; a forged request
leaves nothing of itself in the logs; hostile envelopes get a 4xx and one warning line, never a 500."""

from __future__ import annotations

import http.client
import json
import logging
import resource
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pytest
from kits.hostile import post_signed
from kits.slack_bot import ADMIN, CHANNEL, Bot

from bot.app import build_app
from bot.http_server import DEFAULT_LIMITS, SlackHttpServer
from bot.ids import COMMAND
from devtools.slack_emulator.state import ResponseTarget
from sync_engine.logs import JsonFormatter

ATTACKERS = 1500
IDLE_TIMEOUT = 2
#: A bound for the waits below (states, not timings: a loaded machine only makes them slower).
PATIENCE = 60.0


def _raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _closed_by_server(attacker: socket.socket, deadline: float) -> bool:
    attacker.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        return attacker.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.fixture
def server(hostile_bot: Bot) -> Iterator[SlackHttpServer]:
    """A fresh app (its loggers take the level the test set) on a server whose idle timeout is short."""
    app = build_app(hostile_bot.settings, hostile_bot.service)
    with SlackHttpServer(app, limits=replace(DEFAULT_LIMITS, idle_timeout=IDLE_TIMEOUT)) as serving:
        yield serving


def test_idle_connections_hold_no_thread_healthz_answers_and_they_are_closed(hostile_bot: Bot) -> None:
    # Both ends live in this process: a descriptor for each side of each connection.
    _raise_open_files(2 * ATTACKERS + 1024)
    threads = threading.active_count()
    app = build_app(hostile_bot.settings, hostile_bot.service)
    limits = replace(DEFAULT_LIMITS, idle_timeout=IDLE_TIMEOUT)
    attackers: list[socket.socket] = []
    with SlackHttpServer(app, limits=limits) as server:
        try:
            for _ in range(ATTACKERS):
                attacker = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE)
                attacker.sendall(b"P")  # the start of a request that never comes
                attackers.append(attacker)
            opened = time.monotonic()
            assert _get(server.port, "/healthz") == 200  # answered once every connection before it is held
            first = time.monotonic() - opened
            held = threading.active_count() - threads
            started = time.monotonic()
            assert _get(server.port, "/healthz") == 200
            took = time.monotonic() - started
            print(
                f"\n{ATTACKERS} idle connections held by {held} more threads; /healthz in "
                f"{first * 1000:.1f} ms right after they opened, then {took * 1000:.1f} ms"
            )
            assert held < ATTACKERS // 10  # no thread per connection

            deadline = time.monotonic() + PATIENCE
            still_open = [a for a in attackers if not _closed_by_server(a, deadline)]
            print(f"all closed by the server {time.monotonic() - opened:.1f} s after they opened")
            assert still_open == []
            assert _get(server.port, "/healthz") == 200
        finally:
            for attacker in attackers:
                attacker.close()


def test_past_the_connection_cap_a_new_connection_waits_for_an_idle_one_to_be_closed(
    hostile_bot: Bot,
) -> None:
    app = build_app(hostile_bot.settings, hostile_bot.service)
    limits = replace(DEFAULT_LIMITS, idle_timeout=IDLE_TIMEOUT, max_connections=20)
    attackers: list[socket.socket] = []
    with SlackHttpServer(app, limits=limits) as server:
        try:
            for _ in range(limits.max_connections):
                attacker = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE)
                attacker.sendall(b"P")
                attackers.append(attacker)
            assert _get(server.port, "/healthz") == 200  # waited in the backlog
            # It was let in only once the idle ones were closed.
            closed = [a for a in attackers if _closed_by_server(a, time.monotonic() + 0.001)]
            assert closed == attackers
        finally:
            for attacker in attackers:
                attacker.close()


# --- what a refused request leaves in the logs -------------------------------------------------------

MARKER = "FORGED-MARKER-7f3a9c"


def _forged_command(bot: Bot) -> bytes:
    ws = bot.slack._ws
    return urlencode(
        {
            "token": MARKER,
            "command": COMMAND,
            "text": f"history {MARKER}",
            "user_id": ADMIN,
            "channel_id": CHANNEL,
            "team_id": ws.team_id,
            "response_url": ws.issue_response_url(ResponseTarget(ADMIN, CHANNEL, None, True)) + MARKER,
        }
    ).encode()


def _post(server: SlackHttpServer, body: bytes, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=PATIENCE)
    try:
        connection.request(
            "POST",
            "/slack/events",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _logged(record: logging.LogRecord) -> str:
    """Everything a record would put in a log line, its fields and traceback included."""
    return JsonFormatter().format(record) + repr(record.args)


BAD_SIGNATURES: list[tuple[str, Any]] = [
    ("wrong", lambda now: {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=" + "0" * 64}),
    ("missing", lambda now: {}),
    ("timestamp-not-a-number", lambda now: {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=1"}),
    ("stale", lambda now: {"X-Slack-Request-Timestamp": str(now - 600), "X-Slack-Signature": "v0=1"}),
]


@pytest.mark.parametrize(("name", "headers"), BAD_SIGNATURES, ids=[name for name, _ in BAD_SIGNATURES])
def test_a_forged_request_is_refused_with_one_warning_line_holding_nothing_it_sent(
    hostile_bot: Bot, caplog: pytest.LogCaptureFixture, name: str, headers: Any
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, before the app copies the level
    app = build_app(hostile_bot.settings, hostile_bot.service)
    with SlackHttpServer(app) as server:
        caplog.clear()
        status = _post(server, _forged_command(hostile_bot), headers(int(time.time())))
        assert status == 401

    leaked = [_logged(r) for r in caplog.records if MARKER in _logged(r)]
    assert leaked == []
    # waitress's own "Task queue depth" warning (all its threads busy on a loaded machine) is not ours.
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "waitress.queue"]
    assert [(r.levelname, r.getMessage()) for r in warnings] == [
        ("WARNING", "Slack request refused: bad signature")
    ]
    assert not any(r.exc_info for r in caplog.records)


# --- hostile envelopes, signed -------------------------------------------------------------------------

WRONG_SHAPES: list[tuple[str, dict[str, Any]]] = [
    ("view-a-string", {"type": "view_submission", "user": {"id": ADMIN}, "view": "request_modal"}),
    ("view-a-list", {"type": "view_submission", "user": {"id": ADMIN}, "view": ["request_modal"]}),
    ("user-a-list", {"type": "block_actions", "user": [ADMIN], "actions": [{"action_id": "confirm"}]}),
    ("actions-empty", {"type": "block_actions", "user": {"id": ADMIN}, "actions": []}),
    ("actions-a-string", {"type": "block_actions", "user": {"id": ADMIN}, "actions": "confirm"}),
    ("actions-of-strings", {"type": "block_actions", "user": {"id": ADMIN}, "actions": ["confirm"]}),
    ("team-a-number", {"type": "view_submission", "user": {"id": ADMIN}, "team": 7, "view": {}}),
]


@pytest.mark.parametrize(("name", "payload"), WRONG_SHAPES, ids=[name for name, _ in WRONG_SHAPES])
def test_a_signed_payload_of_the_wrong_shape_gets_400_and_one_warning_line(
    hostile_bot: Bot, caplog: pytest.LogCaptureFixture, name: str, payload: dict[str, Any]
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    status, _ = post_signed(hostile_bot.user(ADMIN), payload)

    assert status == 400
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "waitress.queue"]
    # Malformed (our check), or unreadable (Bolt failed on it before any middleware of ours).
    assert warning.levelname == "WARNING" and warning.getMessage().endswith("Slack request refused")
    assert not any(r.exc_info for r in caplog.records)


def test_an_unsigned_request_with_a_timestamp_that_is_not_a_number_gets_401_naming_no_user(
    server: SlackHttpServer, hostile_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    payload = {"type": "block_actions", "user": {"id": "U_SOMEONE"}, "actions": [{"action_id": "confirm"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()

    status = _post(server, body, {"X-Slack-Request-Timestamp": "abc"})

    assert status == 401
    # waitress's own "Task queue depth" warning on a loaded machine is not the app's.
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "waitress.queue"]
    assert [(r.levelname, r.getMessage()) for r in warnings] == [
        ("WARNING", "Slack request refused: bad signature")
    ]
    assert not any("U_SOMEONE" in _logged(r) for r in caplog.records)
