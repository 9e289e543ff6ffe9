"""The admin's request, over HTTP: command → modal (within the ack) → live counter → submit → confirm."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from kits.slack_bot import ADMIN, CHANNEL, Bot, running_bot

from bot.connection_blocks import CHECKING
from bot.ids import COMMAND, ActionId, BlockId
from devtools.slack_emulator import SlackEmulator, SlackUser
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData

WARNING = (
    "This re-imports and overwrites {n} customers and all their invoices, payments and credit notes. "
    "This cannot be undone."
)


def counter(view: dict[str, object]) -> str:
    [block] = [b for b in view["blocks"] if b.get("block_id") == BlockId.COUNTER]  # type: ignore[attr-defined]
    return str(block["elements"][0]["text"])


def shows_count(bot: Bot, user: SlackUser, expected: str) -> dict[str, Any]:
    """The user's open modal once its counter reads `expected` (the app updates it after the ack)."""
    view: dict[str, Any] = bot.wait_for(lambda: counter(v := user.open_view()) == expected and v)
    return view


def views_updates(bot: Bot) -> int:
    return len([call for call in bot.slack.calls_to("views.update") if call.ok])


def test_the_command_opens_the_modal_within_the_ack(bot: Bot) -> None:
    ana = bot.user(ADMIN)

    response = ana.slash_command(COMMAND, channel=CHANNEL)

    # Within Slack's 3 s (the emulator reports a late answer as an error); the time is no assertion.
    assert response.status == 200 and response.error is None
    view = ana.open_view()
    assert view["title"]["text"] == "Workday batch sync"
    assert view["submit"]["text"] == "Synchronize"
    assert json.loads(view["private_metadata"])["channel_id"] == CHANNEL
    assert counter(view) == "*0 customers selected*"
    [opened] = bot.slack.calls_to("views.open")
    assert opened.ok, opened.error  # the trigger_id was still valid (3 s, single use)


def test_the_counter_counts_both_inputs_live_and_keeps_the_text(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    wids = [customer.wid for customer in bot.sandbox.data.customers[:6]]

    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(wids[:3]))
    shows_count(bot, ana, "*3 customers selected*")

    ana.type(BlockId.MORE_IDENTIFIERS, ActionId.MORE_IDENTIFIERS, "\n".join(wids[2:]))
    view = shows_count(bot, ana, "*6 customers selected*")
    assert view["state"]["values"][BlockId.IDENTIFIERS][ActionId.IDENTIFIERS]["value"].startswith(wids[0])

    # Source IDs compare case-insensitively, references do not: switching the type recounts.
    ana.type(BlockId.MORE_IDENTIFIERS, ActionId.MORE_IDENTIFIERS, wids[0].upper())
    shows_count(bot, ana, "*3 customers selected*")
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    shows_count(bot, ana, "*4 customers selected*")
    assert all(call.ok for call in bot.slack.calls_to("views.update"))  # hashes matched


def test_a_keystroke_that_changes_no_count_sends_no_update(serial_bot: Bot) -> None:
    bot = serial_bot
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    bot.wait_for(lambda: CHECKING not in json.dumps(ana.open_view()["blocks"]))  # its badge's update is in
    wids = [customer.wid for customer in bot.sandbox.data.customers[:4]]
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(wids[:3]))
    shows_count(bot, ana, "*3 customers selected*")
    before = views_updates(bot)

    # A duplicate and a blank line: the same 3 customers. Then a fourth in the other input: its listener
    # starts once the first one's has ended, so an update the first sent is in by the time the count shows.
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join([*wids[:3], "", wids[0].upper()]))
    ana.type(BlockId.MORE_IDENTIFIERS, ActionId.MORE_IDENTIFIERS, wids[3])
    shows_count(bot, ana, "*4 customers selected*")

    assert views_updates(bot) == before + 1  # the fourth customer's only


def test_a_hundred_wids_over_both_inputs_reach_the_confirmation(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    wids = [f"{n:032x}" for n in range(100)]  # 3,299 characters: more than one input takes
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(wids[:90]))
    ana.type(BlockId.MORE_IDENTIFIERS, ActionId.MORE_IDENTIFIERS, "\n".join(wids[90:]))
    shows_count(bot, ana, "*100 customers selected*")

    response = ana.submit()

    assert response.error is None and response.json["response_action"] == "update"
    confirmation = ana.open_view()
    assert WARNING.format(n=100) in json.dumps(confirmation["blocks"])
    draft_id = json.loads(confirmation["private_metadata"])["run_id"]
    assert bot.service.get(draft_id).identifiers == wids


@pytest.mark.parametrize(
    ("first", "more", "kind", "errors"),
    [
        (
            "\n".join(f"C-{n:06}" for n in range(60)),
            "\n".join(f"C-{n:06}" for n in range(55, 101)),
            "reference",
            {BlockId.IDENTIFIERS: "Too many identifiers. Maximum 100."},
        ),
        (" \n\n  ", "", "source_id", {BlockId.IDENTIFIERS: "Enter at least one identifier, one per line."}),
        (
            "0" * 32,
            f"{'1' * 32}\nC-000123\n\nnot a wid",
            "source_id",
            {
                BlockId.MORE_IDENTIFIERS: (
                    "Not a Workday ID (32 hexadecimal characters): line 2 (C-000123), line 4 (not), "
                    "line 4 (a), line 4 (wid). If these are customer numbers, choose Reference instead."
                )
            },
        ),
    ],
    ids=["too-many", "none", "malformed"],
)
def test_submit_errors_show_under_the_input_and_store_nothing(
    bot: Bot, first: str, more: str, kind: str, errors: dict[str, str]
) -> None:
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, kind)
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, first)
    if more:
        ana.type(BlockId.MORE_IDENTIFIERS, ActionId.MORE_IDENTIFIERS, more)

    response = ana.submit()

    assert response.error is None
    assert response.json == {"response_action": "errors", "errors": errors}
    assert ana.open_view()["state"]["values"][BlockId.IDENTIFIERS][ActionId.IDENTIFIERS]["value"] == first
    assert bot.slack.ephemeral(ADMIN) == [] and bot.slack.calls_to("chat.postEphemeral") == []


def test_a_form_left_open_then_a_slow_new_one_the_admin_fills_the_new_one(bot: Bot) -> None:
    """Under load the app's views.open lands well after the command's ack; meanwhile the form an earlier
    submission left open (errors) is still on screen. What the admin enters goes into the new form."""
    ana = bot.user(ADMIN)
    stale = bot.open_request(ana)
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "not a wid")
    assert ana.submit().json["response_action"] == "errors"  # the form stays open
    bot.slack.knobs.latency = 0.5  # a loaded machine

    view = bot.open_request(ana)
    bot.slack.knobs.latency = 0
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "C-000001\nC-000002")
    shows_count(bot, ana, "*2 customers selected*")

    assert view["id"] != stale["id"]
    assert ana.submit().error is None
    assert WARNING.format(n=2) in json.dumps(ana.open_view()["blocks"])


def test_a_form_closed_while_its_counter_is_updated_is_no_error(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    bot.slack.knobs.latency = 0.5  # the counter's views.update reaches Slack after the admin closed the form
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "C-000001")
    ana.close()
    closed = "The form was closed before its update"
    bot.wait_for(lambda: any(r.getMessage() == closed for r in caplog.records))
    bot.slack.knobs.latency = 0

    assert [call.error for call in bot.slack.calls_to("views.update")] == ["not_found"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_identifiers_never_travel_in_slack_state(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    wids = [customer.wid for customer in bot.sandbox.data.customers[:5]]
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(wids))
    ana.submit()
    confirmation = ana.open_view()

    sent_by_app = [
        call for call in bot.slack.calls if call.method.startswith(("views.", "chat.", "response"))
    ]
    assert sent_by_app
    for call in sent_by_app:
        assert not any(wid in json.dumps(call.params) for wid in wids), call.method
    # Only the draft's id travels in its metadata and its buttons, Back and Preview changes first (the
    # first identifiers are shown).
    [actions] = [b for b in confirmation["blocks"] if b.get("block_id") == BlockId.CONFIRM_ACTIONS]
    run_id = json.loads(confirmation["private_metadata"])["run_id"]
    assert [button["value"] for button in actions["elements"]] == [str(run_id), str(run_id)]
    assert not any(wid in confirmation["private_metadata"] for wid in wids)


def test_help_and_unknown_words_show_the_usage(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    for text in ("help", "frobnicate"):
        assert ana.slash_command(COMMAND, text=text, channel=CHANNEL).status == 200
    usages = bot.wait_for(lambda: len(bot.slack.ephemeral(ADMIN)) == 2 and bot.slack.ephemeral(ADMIN))
    assert [u["text"] for u in usages] == [usages[0]["text"]] * 2
    assert "`/workday-resync history`" in usages[0]["text"]
    assert bot.slack.calls_to("views.open") == []


@pytest.fixture
def unconfigured_bot(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> Iterator[Bot]:
    with running_bot(sqlite_database, slack, sandbox_data, None, workday_client_secret=None) as running:
        yield running


def test_without_workday_the_command_says_so_instead_of_opening_the_modal(unconfigured_bot: Bot) -> None:
    bot = unconfigured_bot
    assert bot.user(ADMIN).slash_command(COMMAND, channel=CHANNEL).status == 200

    [said] = bot.wait_for(lambda: bot.slack.ephemeral(ADMIN))
    assert said["text"].startswith(":warning: Workday is not configured for this app yet")
    assert "WORKDAY_CLIENT_SECRET" in said["text"]
    assert bot.slack.calls_to("views.open") == []
