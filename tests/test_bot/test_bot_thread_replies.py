"""The finished run's reply in its thread, end to end through the emulator over HTTP: Completed pings the
requester too, with the counts and the identifiers Workday did not know; nothing Slack would refuse for
its size (`msg_blocks_too_long`): what does not fit goes to a .txt file in the thread."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kits.slack_bot import ADMIN, CHANNEL, Bot, final_status, request_run, running_bot
from kits.stack import expected_counts

from bot.ids import ActionId, BlockId
from devtools.slack_admin import confirm, submit_request_form
from devtools.slack_emulator import SlackEmulator
from devtools.slack_emulator.limits import MAX_BLOCKS_CHARS
from sync_engine.domain import BatchRun, RunStatus
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData


def thread_of(bot: Bot, message: dict[str, Any]) -> list[dict[str, Any]]:
    return [reply for reply in bot.replies() if reply["thread_ts"] == message["ts"]]


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def pings(bot: Bot, message: dict[str, Any]) -> list[dict[str, Any]]:
    return [reply for reply in thread_of(bot, message) if reply["text"].startswith(f"<@{ADMIN}> run #")]


def refused(bot: Bot) -> list[str]:
    """Every message or view call Slack refused, with its error (a view update that lost the race of
    its hash to a newer one, as the form's badge and counter may, is no refusal)."""
    methods = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish", "views.update")
    return [
        f"{call.method}: {call.response.get('error')}"
        for method in methods
        for call in bot.slack.calls_to(method)
        if not call.ok and call.response.get("error") != "hash_conflict"
    ]


def test_a_completed_run_mentions_the_requester_with_counts_and_unknown_identifiers(bot_both: Bot) -> None:
    bot = bot_both
    customers = bot.sandbox.data.customers[2:5]
    identifiers = [c.customer_id for c in customers if c.customer_id] + ["C-999999", "<!here>"]

    run = request_run(bot, identifiers)

    message = final_status(bot, run.id)
    [ping] = bot.wait_for(lambda: pings(bot, message))
    counts = expected_counts(bot.sandbox.data, [c.wid for c in customers])
    text = text_of(ping)
    assert ping["text"].startswith(f"<@{ADMIN}> run #{run.id} completed.")
    assert (
        f"Customers *3* · Invoices *{counts.invoices}* · Payments *{counts.payments}* · "
        f"Credit notes *{counts.credit_notes}*"
    ) in text
    assert "*Not found on Workday (2):* `C-999999`, `&lt;!here&gt;`" in text
    assert "<!here>" not in text

    # Once only: redelivered updates post no second ping.
    bot.wait_for(lambda: bot.service.get(run.id).announcement.final_digest)
    for _ in range(2):
        bot.deliver_status_update(run.id, final=True)
    assert len(pings(bot, message)) == 1


@pytest.fixture
def hundred_customers() -> SandboxData:
    return SandboxData.generate(customers=100, seed=23, big_customer_documents=3)


@pytest.fixture
def bot_100(
    sqlite_database: Database, slack: SlackEmulator, hundred_customers: SandboxData, fast_job_retries: None
) -> Iterator[Bot]:
    with running_bot(sqlite_database, slack, hundred_customers, None) as running:
        yield running


def request_in_two_boxes(bot: Bot, identifiers: list[str], kind: str) -> BatchRun:
    """The whole request with the list split over the form's two boxes (3,000 characters each)."""
    admin = bot.user(ADMIN)
    bot.open_request(admin)
    half = len(identifiers) // 2
    admin.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, kind)
    admin.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(identifiers[:half]))
    admin.type(BlockId.MORE_IDENTIFIERS, ActionId.MORE_IDENTIFIERS, "\n".join(identifiers[half:]))
    submit_request_form(admin)
    return confirm(admin, bot.service)


def test_a_run_where_100_customers_failed_is_never_refused(bot_100: Bot) -> None:
    bot = bot_100
    wids = [c.wid for c in bot.sandbox.data.customers]
    # Workday refuses every customer's payments, one by one: 100 failures, each with its own words.
    bot.sandbox.knobs.hidden_payments_of = set(wids)

    run = request_in_two_boxes(bot, wids, "source_id")

    message = final_status(bot, run.id)
    run = bot.service.get(run.id)
    assert run.status is RunStatus.ERROR and run.error is not None
    assert run.error.startswith("100 of 100 customers could not be synced")
    assert len(json.dumps(run.error)) > MAX_BLOCKS_CHARS  # the whole error alone is more than Slack takes
    [ping] = bot.wait_for(lambda: pings(bot, message))
    filename = f"workday-resync-run-{run.id}-error.txt"
    assert ping["text"].startswith(f"<@{ADMIN}> run #{run.id} ended in error:")
    assert f"it is in the file `{filename}` below" in text_of(ping)
    [whole] = bot.wait_for(lambda: [f for f in bot.slack.files if f["name"] == filename])
    assert whole["content"].decode() == run.error + "\n"
    assert (whole["channel"], whole["thread_ts"]) == (CHANNEL, message["ts"])
    assert ":x: *Error:* 100 of 100 customers could not be synced" in text_of(message)
    assert refused(bot) == []


def test_a_list_of_unknown_identifiers_too_long_for_slack_goes_to_a_file(bot: Bot) -> None:
    # 59 identifiers nobody knows whose `&`s Slack receives escaped (5 characters each): over 13,000.
    unknown = [f"X-{n:02d}-" + "&" * 45 for n in range(59)]
    known = bot.sandbox.data.customers[3]
    assert known.customer_id is not None

    run = request_in_two_boxes(bot, [known.customer_id, *unknown], "reference")

    message = final_status(bot, run.id)
    assert bot.service.get(run.id).status is RunStatus.COMPLETED
    assert "*Not found on Workday (59):* the list is in the thread." in text_of(message)
    [ping] = bot.wait_for(lambda: pings(bot, message))
    filename = f"workday-resync-run-{run.id}-not-found.txt"
    assert f"they are in the file `{filename}` below" in text_of(ping)
    [listed] = bot.wait_for(lambda: [f for f in bot.slack.files if f["name"] == filename])
    assert listed["content"].decode() == "".join(f"{identifier}\n" for identifier in unknown)
    assert refused(bot) == []


def test_a_reply_file_that_failed_to_upload_comes_later_without_a_second_reply(bot: Bot) -> None:
    bot.slack.knobs.upload_fails = True  # the upload URL answers 500: files_upload_v2 raises
    unknown = [f"X-{n:02d}-" + "&" * 45 for n in range(59)]

    run = request_in_two_boxes(bot, ["C-000003", *unknown], "reference")

    message = final_status(bot, run.id)
    bot.wait_for(lambda: pings(bot, message))
    bot.slack.knobs.upload_fails = False
    bot.deliver_status_update(run.id, final=True)  # as a retry of the status job, or the final sweep, does
    filename = f"workday-resync-run-{run.id}-not-found.txt"
    bot.wait_for(lambda: [f for f in bot.slack.files if f["name"] == filename])
    assert len(pings(bot, message)) == 1
