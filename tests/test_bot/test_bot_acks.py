"""Slack's requests are acknowledged without waiting for the work they start: a slow Slack delays the
answer the admin then sees, never the ack (Slack shows an error after 3 s). Timings are the benchmark's
(`devtools/bench/slack.py`); this test only says what is pending when the ack arrives."""

from __future__ import annotations

import json

from kits.slack_bot import ADMIN, CHANNEL, Bot

from bot.connection_blocks import CHECKING
from bot.ids import COMMAND, ActionId, BlockId


def _shown(bot: Bot, text: str) -> list[dict[str, object]]:
    return [e for e in bot.slack.ephemeral(ADMIN) if e["text"] == text]


def test_requests_are_acknowledged_while_every_listener_thread_waits_on_slack(serial_bot: Bot) -> None:
    bot = serial_bot
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    bot.wait_for(lambda: CHECKING not in json.dumps(ana.open_view()["blocks"]))  # its badge's update is in
    bot.slack.knobs.hold_requests.add("views.update")
    try:
        typed = ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "C-000001\nC-000002")
        assert typed is not None and typed.error is None
        # The only listener thread waits on Slack: the counter's update is held before Slack sees it.
        bot.wait_for(lambda: bot.slack.held("views.update") == 1)

        command = ana.slash_command(COMMAND, text="history", channel=CHANNEL)

        assert command.status == 200 and command.error is None
        assert bot.slack.held("views.update") == 1 and bot.slack.ephemeral(ADMIN) == []
    finally:
        bot.slack.knobs.hold_requests.clear()
    # Once Slack answers, the counter shows, then the history (no run yet).
    bot.wait_for(lambda: "*2 customers selected*" in json.dumps(ana.open_view()["blocks"]))
    bot.wait_for(lambda: _shown(bot, "No batch runs yet."))
