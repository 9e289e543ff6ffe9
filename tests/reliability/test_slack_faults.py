"""Slack misbehaves while runs work (PostgreSQL, Redis broker and coordination, real Dramatiq worker):
chat.update answers 429 with Retry-After, chat.postMessage answers not_in_channel, file uploads fail,
the store fails right after the status message was posted. The run itself is unaffected, and the final
status still reaches the admin, once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from kits.reliability import free_port, wait_for
from kits.slack_bot import (
    ADMIN,
    CHANNEL,
    Bot,
    error_replies,
    fields,
    final_status,
    request_run,
    running_bot,
    status_posts,
)
from kits.stack import expected_counts
from sqlalchemy import text

from bot.ids import COMMAND, ActionId, BlockId
from devtools.slack_emulator import SlackEmulator
from sync_engine import jobs
from sync_engine.domain import RunStatus
from sync_engine.progress import RunEvents
from sync_engine.run_errors import NOTHING_RESOLVED
from sync_engine.service import RunService
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import Sandbox, SandboxData


@pytest.fixture
def data() -> SandboxData:
    return SandboxData.generate(customers=20, seed=43, big_customer_documents=100)


@contextmanager
def _bot(database: Database, slack: SlackEmulator, data: SandboxData, redis_url: str) -> Iterator[Bot]:
    with running_bot(database, slack, data, redis_url, slack_status_interval=0.05) as bot:
        yield bot


@pytest.mark.timeout(90)
def test_429s_not_in_channel_and_failing_uploads_leave_the_run_alone_and_the_final_status_arrives(
    postgres_database: Database, clean_redis: str, slack: SlackEmulator, data: SandboxData
) -> None:
    # Slack allows 2 chat.update per second (the app thinks 600 a minute): it answers 429 + Retry-After.
    slack.knobs.rate_limits["chat.update"] = 2
    slack.knobs.rate_window = 1.0
    slack.knobs.fail_next["chat.postMessage"] = "not_in_channel"
    slack.knobs.upload_fails = True
    with _bot(postgres_database, slack, data, clean_redis) as bot:
        bot.sandbox.knobs.latency = 0.03
        wids = data.customer_wids
        run = request_run(bot, wids, kind="source_id")
        dm = slack._ws.dm(ADMIN).id

        message = final_status(bot, run.id, channel=dm)
        done = bot.service.get(run.id)
        updates = slack.calls_to("chat.update")
        print(
            f"\nSlack faults: {sum(c.status == 429 for c in updates)} chat.update answered 429, "
            f"{sum(c.ok for c in updates)} went through; run {done.status.label}"
        )
    assert done.status is RunStatus.COMPLETED, done.error
    assert done.counts == expected_counts(data, wids)
    shown = fields(message["blocks"])
    assert shown["Status"] == ":white_check_mark: Completed"
    assert shown["Customers"] == str(len(wids))
    assert any(call.status == 429 for call in updates)
    # One status message, in the DM; nothing in the channel; the upload never landed.
    assert len(bot.status_messages(dm)) == 1 and slack.messages(CHANNEL) == []
    assert slack.files == []


@pytest.mark.timeout(60)
def test_a_failing_upload_does_not_keep_the_error_from_the_requester(
    postgres_database: Database, clean_redis: str, slack: SlackEmulator, data: SandboxData
) -> None:
    slack.knobs.upload_fails = True
    with _bot(postgres_database, slack, data, clean_redis) as bot:
        run = request_run(bot, ["C-404404", "C-505505"])
        message = final_status(bot, run.id)
        [reply] = bot.wait_for(lambda: error_replies(bot), timeout=20)
    assert fields(message["blocks"])["Status"] == ":x: Error"
    assert reply["thread_ts"] == message["ts"]
    assert f"<@{ADMIN}>" in json.dumps(reply["blocks"]) and NOTHING_RESOLVED in json.dumps(reply["blocks"])
    assert slack.files == []


@contextmanager
def _store_fails_once_when_the_message_ts_is_saved(database: Database) -> Iterator[None]:
    """A real PostgreSQL failure, once: the UPDATE that records the status message's ts raises."""
    with database.engine.begin() as connection:
        connection.execute(text("CREATE SEQUENCE reliability_fail_once"))
        connection.execute(
            text(
                "CREATE FUNCTION reliability_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN IF nextval('reliability_fail_once') = 1 THEN "
                "RAISE EXCEPTION 'injected: the store failed'; END IF; RETURN NEW; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER reliability_fail_once BEFORE UPDATE OF slack_message_ts ON batch_runs "
                "FOR EACH ROW WHEN (OLD.slack_message_ts IS NULL AND NEW.slack_message_ts IS NOT NULL) "
                "EXECUTE FUNCTION reliability_fail_once()"
            )
        )
    try:
        yield
    finally:
        with database.engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS reliability_fail_once ON batch_runs"))
            connection.execute(text("DROP FUNCTION IF EXISTS reliability_fail_once()"))
            connection.execute(text("DROP SEQUENCE IF EXISTS reliability_fail_once"))


@pytest.mark.timeout(60)
def test_the_status_message_is_posted_once_when_saving_its_ts_fails(
    postgres_database: Database, clean_redis: str, slack: SlackEmulator, data: SandboxData
) -> None:
    with (
        _store_fails_once_when_the_message_ts_is_saved(postgres_database),
        _bot(postgres_database, slack, data, clean_redis) as bot,
    ):
        run = request_run(bot, [c.customer_id for c in data.customers[1:4] if c.customer_id])
        message = final_status(bot, run.id)
        bot.wait_for(lambda: slack.files, timeout=20)
        posts = status_posts(slack)
    assert fields(message["blocks"])["Status"] == ":white_check_mark: Completed"
    assert len(bot.status_messages()) == 1, [m["text"] for m in bot.status_messages()]
    assert len(posts) == 1
    assert bot.service.get(run.id).slack_message_ts == message["ts"]


def _serve(environment: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "workday-resync"), "serve", "--http", "--port", str(port)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT)
    wait_for(lambda: _healthy(port) or process.poll() is not None, 30, "serve to come up")
    assert process.poll() is None, log.read_text()
    return process


def _healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as probe:
            probe.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            return b" 200 " in probe.recv(64)
    except OSError:
        return False


def _shown_status(slack: SlackEmulator) -> str | None:
    posted = [m for m in slack.messages(CHANNEL) if m["user"] == slack.bot_user_id and m["blocks"]]
    return fields(posted[0]["blocks"]).get("Status") if posted else None


@pytest.mark.timeout(120)
def test_embedded_serve_killed_before_the_final_update_shows_it_after_a_restart(
    slack: SlackEmulator, data: SandboxData, tmp_path: Path
) -> None:
    # Slack takes one chat.update, then answers 429 for ten minutes: the final update waits in the
    # memory of `serve` (no Redis) when the process is killed.
    slack.knobs.rate_limits["chat.update"] = 1
    slack.knobs.rate_window = 600
    database = Database(f"sqlite:///{tmp_path / 'store.db'}")
    port = free_port()
    with Sandbox(data) as sandbox:
        sandbox.knobs.latency = 0.1
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": database.url,
            **sandbox.workday_env(),
            "WORKDAY_RATE_LIMIT": "500",
            **slack.slack_env(),
            "SLACK_STATUS_INTERVAL": "0.05",
        }
        served = _serve(environment, port, tmp_path / "serve.log")
        try:
            ana = slack.user(ADMIN, app_url=f"http://127.0.0.1:{port}/slack/events")
            assert ana.slash_command(COMMAND, channel=CHANNEL).error is None
            ana.open_view(timeout=5)
            ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "source_id")
            ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(data.customer_wids[:15]))
            assert ana.submit().error is None  # Synchronize: the form becomes the confirmation
            assert ana.submit().error is None  # Confirm
            service = RunService(database, jobs.DramatiqDispatcher(), RunEvents())
            run = wait_for(lambda: service.history(), 20, "the run")[0]
            wait_for(lambda: service.get(run.id).is_final, 60, "the run to finish")
            wait_for(lambda: slack.files, 20, "the records file")
            wait_for(lambda: any(c.status == 429 for c in slack.calls_to("chat.update")), 20, "a 429")
        finally:
            served.kill()
            served.wait(timeout=10)
        assert service.get(run.id).status is RunStatus.COMPLETED
        before = _shown_status(slack)
        assert before is not None and "Completed" not in before, before

        slack.knobs.rate_limits["chat.update"] = 50
        slack.knobs.rate_window = 60
        restarted = _serve(environment, port, tmp_path / "serve.log")
        try:
            shown = wait_for(
                lambda: "Completed" in (_shown_status(slack) or ""), 30, "the final status after the restart"
            )
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(timeout=15)
    print(f"\nEmbedded serve killed with Slack showing {before!r}; after the restart: Completed")
    assert shown
    posted = [m for m in slack.messages(CHANNEL) if m["user"] == slack.bot_user_id and m["blocks"]]
    assert len([m for m in posted if m["thread_ts"] in (None, m["ts"])]) == 1  # not counting its replies
    database.dispose()
