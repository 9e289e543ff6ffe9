"""Slack's requests are acknowledged without waiting for the work they start: a slow Slack or a busy store
delays the answer the admin then sees, never the ack (Slack shows an error after 3 s). Timings are the
benchmark's (`devtools/bench/slack.py`); these tests only say what is pending when the ack arrives."""

from __future__ import annotations

import json
import logging
import sqlite3

import pytest
from kits.slack_bot import ADMIN, CHANNEL, Bot

from bot import messages
from bot.ids import COMMAND, ActionId, BlockId
from sync_engine.store.database import Database

WARNING = "This re-imports and overwrites {n} customers"


def _fill_form(bot: Bot, identifiers: list[str]) -> None:
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(identifiers))


def _shown(bot: Bot, start: str) -> list[dict[str, object]]:
    return [e for e in bot.slack.ephemeral(ADMIN) if str(e["text"]).startswith(start)]


def test_requests_are_acknowledged_while_every_listener_thread_waits_on_slack(serial_bot: Bot) -> None:
    bot = serial_bot
    ana = bot.user(ADMIN)
    _fill_form(bot, [customer.wid for customer in bot.sandbox.data.customers[:2]])
    bot.slack.knobs.hold_requests.add("chat.postEphemeral")
    try:
        assert ana.submit().error is None
        # The only listener thread waits on Slack: the confirmation is held before Slack sees it.
        bot.wait_for(lambda: bot.slack.held("chat.postEphemeral") == 1)

        command = ana.slash_command(COMMAND, text="history", channel=CHANNEL)

        assert command.status == 200 and command.error is None
        assert bot.slack.held("chat.postEphemeral") == 1 and bot.slack.ephemeral(ADMIN) == []
    finally:
        bot.slack.knobs.hold_requests.clear()
    # Once Slack answers, the confirmation shows, then the history (runs awaiting Confirm are not in it).
    bot.wait_for(lambda: _shown(bot, WARNING.format(n=2)) and _shown(bot, "No batch runs yet."))


def _sqlite_path(database: Database) -> str:
    return database.url.removeprefix("sqlite:///")


def test_a_submission_is_acknowledged_while_the_store_waits_for_its_writer(
    bot: Bot, sqlite_database: Database
) -> None:
    wids = [customer.wid for customer in bot.sandbox.data.customers[:3]]
    _fill_form(bot, wids)
    # Another writer holds SQLite's write lock (as a run's customer transaction does): the draft must wait.
    writer = sqlite3.connect(_sqlite_path(sqlite_database), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")

        response = bot.user(ADMIN).submit()

        assert response.error is None and response.json is None  # acknowledged: the form closes
        assert bot.slack.ephemeral(ADMIN) == []  # the draft is not stored yet
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    [confirmation] = bot.wait_for(lambda: bot.slack.ephemeral(ADMIN))
    assert confirmation["text"].startswith(WARNING.format(n=3))
    [draft_id] = {button["value"] for button in confirmation["blocks"][1]["elements"]}
    assert bot.service.get(int(draft_id)).identifiers == wids


def test_a_draft_the_store_refuses_after_the_ack_is_reported_and_nothing_runs(
    bot: Bot, sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    wids = [customer.wid for customer in bot.sandbox.data.customers[:2]]
    _fill_form(bot, wids)
    refusing = sqlite3.connect(_sqlite_path(sqlite_database), isolation_level=None)
    refusing.execute(
        "CREATE TRIGGER refuse_runs BEFORE INSERT ON batch_runs BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    try:
        response = bot.user(ADMIN).submit()

        assert response.error is None and response.json is None
        [note] = bot.wait_for(lambda: bot.slack.ephemeral(ADMIN))
        stored_runs = refusing.execute("SELECT count(*) FROM batch_runs").fetchone()[0]
    finally:
        refusing.execute("DROP TRIGGER refuse_runs")
        refusing.close()
    assert note["text"] == messages.not_stored().text
    assert stored_runs == 0 and bot.service.history() == []
    [failure] = bot.wait_for(lambda: [r for r in caplog.records if r.getMessage() == "Slack request failed"])
    assert failure.__dict__["user"] == ADMIN  # logged with who asked, never what was typed
    assert not any(wid in json.dumps(failure.__dict__, default=str) for wid in wids)
