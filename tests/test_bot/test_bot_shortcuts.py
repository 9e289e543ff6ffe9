"""The shortcuts, over HTTP: the global one opens the form with a channel picker; the message shortcut
opens it filled with the message's identifiers; a non-admin gets a note instead."""

from __future__ import annotations

import json
from typing import Any

from kits.slack_bot import ADMIN, CHANNEL, OUTSIDE, PLAIN, Bot, synchronize

from bot import messages
from bot.ids import ActionId, BlockId, CallbackId, ShortcutId
from devtools.slack_emulator import SlackUser


def form_of(bot: Bot, user: SlackUser) -> dict[str, Any]:
    return bot.wait_for(lambda: user.open_view())


def values(view: dict[str, Any]) -> tuple[str, str, str]:
    state = view["state"]["values"]
    return (
        state[BlockId.ID_TYPE][ActionId.ID_TYPE]["selected_option"]["value"],
        state[BlockId.IDENTIFIERS][ActionId.IDENTIFIERS]["value"],
        state[BlockId.MORE_IDENTIFIERS][ActionId.MORE_IDENTIFIERS]["value"] or "",
    )


def test_the_global_shortcut_opens_the_form_with_a_channel_picker(bot: Bot) -> None:
    ana = bot.user(ADMIN)

    assert ana.global_shortcut(ShortcutId.GLOBAL).error is None

    form = form_of(bot, ana)
    assert form["callback_id"] == CallbackId.REQUEST_MODAL
    [picker] = [b for b in form["blocks"] if b["block_id"] == BlockId.STATUS_CHANNEL]
    assert picker["element"]["type"] == "conversations_select"
    assert "initial_conversation" not in picker["element"]  # no RESYNC_STATUS_CHANNEL set
    ana.select_conversation(BlockId.STATUS_CHANNEL, ActionId.STATUS_CHANNEL, CHANNEL)
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "C-000004")
    run_id = synchronize(ana)
    assert ana.submit().error is None  # Confirm

    assert bot.wait_run(run_id).slack_channel == CHANNEL
    bot.wait_for(lambda: bot.status_messages(CHANNEL))


def test_the_message_shortcut_fills_the_form_with_the_messages_identifiers(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    message = bot.slack.say(ADMIN, CHANNEL, "C-000001\n• C-000002\n`C-000003`\n\nC-000001, *C-000005*")

    assert ana.message_shortcut(ShortcutId.MESSAGE, message).error is None

    form = form_of(bot, ana)
    assert values(form) == ("reference", "C-000001\nC-000002\nC-000003\nC-000005", "")
    assert "*4 customers selected*" in json.dumps(form["blocks"])
    assert BlockId.STATUS_CHANNEL not in [b["block_id"] for b in form["blocks"]]  # the message's channel
    run_id = synchronize(ana)
    assert f"<#{CHANNEL}>" in json.dumps(ana.open_view()["blocks"])
    assert bot.service.get(run_id).identifiers == ["C-000001", "C-000002", "C-000003", "C-000005"]


def test_a_message_of_workday_ids_selects_source_id(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    wids = [c.wid for c in bot.sandbox.data.customers[:3]]
    message = bot.slack.say(ADMIN, OUTSIDE, "\n".join([wids[0].upper(), *wids[1:]]))

    ana.message_shortcut(ShortcutId.MESSAGE, message)

    assert values(form_of(bot, ana)) == ("source_id", "\n".join(wids), "")


def test_a_non_admin_gets_a_note_from_either_shortcut(bot: Bot) -> None:
    bob = bot.user(PLAIN)
    message = bot.slack.say(PLAIN, CHANNEL, "C-000001")

    for run in (
        lambda: bob.global_shortcut(ShortcutId.GLOBAL),
        lambda: bob.message_shortcut(ShortcutId.MESSAGE, message),
    ):
        assert run().error is None
        note = bot.wait_for(lambda: bob.open_view())
        assert note["callback_id"] != CallbackId.REQUEST_MODAL
        assert messages.refusal().text in json.dumps(note["blocks"])
        bob.close()
    assert bot.service.history() == [] and bot.slack.views == {}
