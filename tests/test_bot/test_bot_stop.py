"""The Stop button of a run's status message, end to end through the Slack emulator: admins only, once
however often it is clicked, the message then showing Stopped (by whom, what was skipped) without the
button; and Stop racing the last customer on real workers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kits.slack_bot import ADMIN, OWNER, PLAIN, Bot, fields, final_status, request_run, running_bot
from kits.stack import assert_store_matches_workday, expected_counts, stored_customer

from bot import messages
from bot.ids import ActionId, BlockId
from bot.stop_blocks import STOP_CONFIRM
from devtools.slack_emulator import SlackEmulator
from sync_engine.domain import RunStatus
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData


def stop_button(message: dict[str, Any]) -> dict[str, Any] | None:
    for block in message["blocks"]:
        if block.get("block_id") == BlockId.RUN_STOP:
            [button] = block["elements"]
            return button  # type: ignore[no-any-return]
    return None


def answers(bot: Bot, user: str) -> list[str]:
    return [e["text"] for e in bot.slack.ephemeral(user)]


@pytest.fixture
def idle_bot(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> Iterator[Bot]:
    """The app with no worker: a confirmed run stays Received; the test delivers its status updates."""
    with running_bot(
        sqlite_database, slack, sandbox_data, None, embedded_worker=False, admin_cache_seconds=0
    ) as b:
        yield b


def test_stop_on_a_received_run_admins_only_once_however_clicked(idle_bot: Bot) -> None:
    bot = idle_bot
    customers = bot.sandbox.data.customers[2:5]
    identifiers = [c.customer_id or "" for c in customers] + ["<!channel>*x*"]
    run = request_run(bot, identifiers)
    bot.deliver_status_update(run.id)
    run = bot.service.get(run.id)
    [message] = bot.status_messages()
    button = stop_button(message)
    assert button is not None and fields(message["blocks"])["Status"] == ":inbox_tray: Received"
    assert (button["style"], button["confirm"], button["value"]) == ("danger", STOP_CONFIRM, str(run.id))

    # A member who is not an admin is refused, and nothing changes.
    bob = bot.user(PLAIN)
    bob.click(ActionId.STOP_RUN, message=message)
    bot.wait_for(lambda: messages.refusal().text in answers(bot, PLAIN))
    assert bot.service.get(run.id) == run

    # An admin double-clicks, an owner clicks too, and Slack's copy of a click is replayed: one stop.
    ana, olga = bot.user(ADMIN), bot.user(OWNER)
    clicks = [threading.Thread(target=ana.click, args=(ActionId.STOP_RUN, message)) for _ in range(2)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    bot.wait_for(lambda: len(answers(bot, ADMIN)) >= 2)
    olga.click(ActionId.STOP_RUN, message=message)
    assert olga.last_sent is not None
    assert olga.resend(olga.last_sent).status == 401  # a redelivered request is refused before any listener
    said = bot.wait_for(lambda: len(found := answers(bot, ADMIN) + answers(bot, OWNER)) >= 3 and found)

    stopped = bot.service.get(run.id)
    assert stopped.status is RunStatus.STOPPED and stopped.stopped_by == ADMIN
    assert stopped.skipped == identifiers and stopped.counts.customers == 0
    assert sorted(said) == sorted(
        [
            f"Run {run.id} stopped: 0 customers written and kept, 4 skipped (not started).",
            f"Run {run.id} was already stopped by <@{ADMIN}>: nothing changed.",
            f"Run {run.id} was already stopped by <@{ADMIN}>: nothing changed.",
        ]
    )

    # The message shows Stopped, by whom, the customers skipped (escaped), and no Stop button.
    bot.deliver_status_update(run.id, final=True)
    [message] = bot.status_messages()
    shown = fields(message["blocks"])
    assert (shown["Status"], shown["Customers"]) == (":octagonal_sign: Stopped", "0 of 4")
    text = json.dumps(message["blocks"])
    assert f":octagonal_sign: *Stopped* by <@{ADMIN}> <!date^{int(stopped.stopped_at.timestamp())}^" in text
    listed = ", ".join(f"`{c.customer_id}`" for c in customers) + ", `&lt;!channel&gt;*x*`"
    assert f"*Skipped, not started (4):* {listed}" in text
    assert "<!channel>" not in text and stop_button(message) is None
    # Its thread tells the requester, once however often the final update is delivered.
    bot.deliver_status_update(run.id, final=True)
    [reply] = [r for r in bot.replies() if "was stopped by" in r["text"]]
    assert reply["thread_ts"] == message["ts"]
    assert reply["text"].startswith(f"<@{ADMIN}> run #{run.id} was stopped by <@{ADMIN}>. Written and kept: ")
    assert f"*Skipped, not started (4):* {listed}" in json.dumps(reply["blocks"])

    # Slack's history and the Home tab show it Stopped.
    ana.slash_command("/workday-resync", text="history", channel=message["channel"])
    bot.wait_for(lambda: any(":octagonal_sign: Stopped" in json.dumps(e) for e in bot.slack.ephemeral(ADMIN)))
    ana.open_home()
    bot.wait_for(lambda: bot.slack.home(ADMIN))
    ana.click_home(ActionId.HOME_TAB_HISTORY)
    bot.wait_for(
        lambda: ":octagonal_sign: Stopped" in json.dumps((bot.slack.home(ADMIN) or {}).get("blocks"))
    )


@pytest.fixture
def one_by_one_bot(bot_with: Callable[..., Bot]) -> Bot:
    """The app on a real worker that syncs one customer at a time (one a request, one thread)."""
    return bot_with(workday_customers_per_group=1, worker_threads=1)


def test_stop_racing_the_last_customer_never_half_writes_or_hangs(one_by_one_bot: Bot) -> None:
    bot = one_by_one_bot
    customers = [c for c in bot.sandbox.data.customers[1:] if sum(bot.sandbox.data.counts(c.wid)) < 300][:4]
    bot.sandbox.knobs.latency = 0.05  # the last customer's requests take a moment, as on a real tenant
    run = request_run(bot, [c.customer_id or "" for c in customers])
    message = bot.wait_for(lambda: [m for m in bot.status_messages() if stop_button(m)])[0]
    bot.wait_for(lambda: bot.service.get(run.id).counts.customers >= len(customers) - 1)

    bot.user(ADMIN).click(ActionId.STOP_RUN, message=message)
    [said] = bot.wait_for(lambda: answers(bot, ADMIN))
    bot.sandbox.knobs.latency = 0.0

    ended = bot.service.get(run.id)
    assert ended.is_final  # the stop's answer came once the run had ended: nothing left to hang
    written = [c for c in customers if stored_customer(bot.rt.database, c.wid) is not None]
    assert_store_matches_workday(bot.rt.database, bot.sandbox.data, [c.wid for c in written])
    assert ended.counts == expected_counts(bot.sandbox.data, [c.wid for c in written])
    if ended.status is RunStatus.STOPPED:
        assert (
            said
            == f"Run {run.id} stopped: {len(written)} customers written and kept, 1 skipped (not started)."
        )
        assert len(written) == len(customers) - 1 and ended.skipped == [customers[-1].customer_id]
    else:
        assert ended.status is RunStatus.COMPLETED and written == customers
        assert said == f"Run {run.id} has already ended (Completed): nothing to stop."
    shown = final_status(bot, run.id)
    assert stop_button(shown) is None
    assert fields(shown["blocks"])["Status"].endswith(ended.status.label)
