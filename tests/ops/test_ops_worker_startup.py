"""A worker started while PostgreSQL does not answer waits for it (the start-up migration retries with
backoff, one log line per attempt naming the server, never the password), then comes up and works.

PostgreSQL "comes back" for real: the worker's DATABASE_URL points at a local TCP port where nothing
listens until the test starts a forwarder to the real server there.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from kits.metrics import free_port
from kits.slack_bot import ADMIN, CHANNEL, fields, final_status, request_run, running_bot
from kits.stack import expected_counts
from kits.workers import start_worker_command
from sqlalchemy import make_url

from devtools.slack_emulator import SlackEmulator
from sync_engine.domain import RunStatus
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(240)]

#: In the worker's DATABASE_URL: must never be written anywhere (trust authentication ignores it).
PASSWORD = "pw-marker-7c1e"
RETRY_EVENT = "PostgreSQL is not reachable; the start-up migration will try again"


@contextmanager
def _forwarder(port: int, target: tuple[str, int]) -> Iterator[None]:
    """Listen on 127.0.0.1:`port` and pass every connection through to `target`, both ways."""
    listener = socket.create_server(("127.0.0.1", port))
    stop = threading.Event()

    def pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(target)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=pump, args=(source, sink), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


def _events(output: Path) -> list[dict[str, Any]]:
    events = []
    for line in output.read_text(errors="replace").splitlines():
        with suppress(ValueError):
            events.append(json.loads(line))
    return events


def _retries(output: Path) -> list[dict[str, Any]]:
    return [event for event in _events(output) if event.get("event") == RETRY_EVENT]


def _wait(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)
    return value


def test_a_worker_started_during_a_postgres_outage_waits_for_it_then_runs_the_queued_run(
    postgres_database: Database, redis_url: str, tmp_path: Path
) -> None:
    real = make_url(postgres_database.url)
    port = free_port()
    # The worker's store: the same database, through a port where PostgreSQL is "down" for now.
    unreachable = Database(
        real.set(host="127.0.0.1", port=port, password=PASSWORD).render_as_string(hide_password=False)
    )
    data = SandboxData.generate(customers=6, seed=27)
    wids = data.customer_wids[:5]
    with SlackEmulator() as slack:
        slack.add_user(ADMIN, name="ana", is_admin=True)
        slack.add_channel(CHANNEL, name="finance", bot_member=True)
        with running_bot(postgres_database, slack, data, redis_url, embedded_worker=False) as bot:
            host = start_worker_command(bot.settings, unreachable, tmp_path / "host", processes=1)
            try:
                # The admin's run is queued while no worker can start: it waits in Received.
                run = request_run(bot, wids, kind="source_id")
                _wait(
                    lambda: len(_retries(host.output)) >= 3 or host.process.poll() is not None,
                    60,
                    "three logged attempts",
                )
                assert host.process.poll() is None, f"the worker exited: {host.output.read_text()}"
                assert bot.service.get(run.id).status is RunStatus.RECEIVED
                down_for = time.monotonic()
                with _forwarder(port, (real.host or "127.0.0.1", real.port or 5432)):
                    message = final_status(bot, run.id)
                    recovered = time.monotonic() - down_for
                    done = bot.service.get(run.id)
                    output = host.output.read_text(errors="replace")
                    host.stop()
            finally:
                if host.process.poll() is None:
                    host.process.kill()
    retries = _retries(host.output)
    print(
        f"\nWorker started with PostgreSQL down: {len(retries)} attempts logged "
        f"(waits {[event['wait_seconds'] for event in retries]} s); the queued run Completed "
        f"{recovered:.1f} s after PostgreSQL came back"
    )
    assert done.status is RunStatus.COMPLETED, done.error
    assert done.counts == expected_counts(data, wids)
    assert fields(message["blocks"])["Status"] == ":white_check_mark: Completed"
    for number, event in enumerate(retries, start=1):
        assert event["level"] == "warning"
        assert event["database_host"] == f"127.0.0.1:{port}"
        assert event["attempt"] == number
        assert "Connection refused" in event["error"]
    assert PASSWORD not in output


def test_a_worker_whose_database_does_not_exist_stops_at_once_with_one_line(
    postgres_database: Database, redis_url: str, tmp_path: Path
) -> None:
    """Waiting cannot fix a wrong database name (nor role, nor password): no retries, one clear line."""
    missing = Database(
        make_url(postgres_database.url)
        .set(database="no_such_store", password=PASSWORD)
        .render_as_string(hide_password=False)
    )
    data = SandboxData.generate(customers=1, seed=27)
    with SlackEmulator() as slack, running_bot(postgres_database, slack, data, redis_url) as bot:
        host = start_worker_command(bot.settings, missing, tmp_path / "host", processes=1)
        try:
            exit_code = host.process.wait(timeout=60)
        finally:
            if host.process.poll() is None:
                host.process.kill()
    lines = host.output.read_text(errors="replace").splitlines()
    assert exit_code == 2
    assert _retries(host.output) == []
    [line] = lines  # off a terminal a service's error is one JSON log event, like the rest of its output
    event = json.loads(line)
    assert event["level"] == "error"
    assert event["event"].startswith(f"The store at {missing.server} cannot be reached: ")
    assert '"no_such_store" does not exist' in event["event"] and PASSWORD not in line
