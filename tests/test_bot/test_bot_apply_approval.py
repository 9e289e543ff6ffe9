"""Apply this preview above RESYNC_APPROVAL_ABOVE, in Slack: the apply run waits for a second admin as a
sync does (its own status message asks; whoever clicked Apply cannot approve it), the preview's message
says so, and the approved apply writes what the preview fetched with no Workday request. At the setting,
Apply runs at once. Clicks go through the emulator over HTTP; the runs on a real worker, both stacks."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from kits.slack_bot import ADMIN, OWNER, Bot
from kits.stack import without_fetched_at
from test_bot.test_bot_approval import approval_actions, asking, told
from test_bot.test_bot_preview import contents, preview_from_the_form, preview_message, runs_of_kind, text_of

from bot.ids import ActionId
from sync_engine.domain import RunKind, RunStatus
from sync_engine.workday.sandbox import SandboxData
from sync_engine.workday.sandbox.stats import RequestLogEntry

ABOVE = 2


@pytest.fixture
def approving_bot(bot_with: Callable[..., Bot]) -> Bot:
    """The app with RESYNC_APPROVAL_ABOVE=2 and a sandbox of its own (the test changes Workday's data)."""
    return bot_with(
        SandboxData.generate(customers=8, seed=13), admin_cache_seconds=0, resync_approval_above=ABOVE
    )


def naming(bot: Bot, wids: list[str], *, since: int) -> list[RequestLogEntry]:
    """The Workday requests after the `since`-th naming any of the customers (the connection check,
    which the form may start in the background, names none)."""
    names = set(wids) | {bot.sandbox.data.snapshot(wid).customer.customer_id or wid for wid in wids}
    return [
        entry
        for entry in bot.sandbox.stats.log[since:]
        if any(name in entry.detail or name in {value for _, value in entry.references} for name in names)
    ]


def test_apply_above_the_setting_waits_for_another_admin_then_writes_the_preview(approving_bot: Bot) -> None:
    bot = approving_bot
    wids = bot.sandbox.data.customer_wids[1 : 2 + ABOVE]
    preview_id = preview_from_the_form(bot, wids)  # by ADMIN
    message = preview_message(bot, preview_id)
    fetched = {wid: without_fetched_at(bot.sandbox.data.snapshot(wid)) for wid in wids}
    bot.sandbox.data.add_invoice(wids[0], total_amount=Decimal("1.00"))  # on Workday after the preview
    requests = bot.sandbox.stats.total()
    assert naming(bot, wids, since=0)  # the preview's requests name them

    bot.user(OWNER).click(ActionId.APPLY_PREVIEW, message)

    [applied] = bot.wait_for(lambda: runs_of_kind(bot, RunKind.APPLY))
    assert applied.status is RunStatus.PENDING_APPROVAL and applied.requested_by == OWNER
    decided = text_of(preview_message(bot, preview_id, containing="*Apply requested* by")["blocks"])
    assert f"<@{OWNER}>" in decided and f"run #{applied.id} awaits another admin's approval" in decided
    assert "*Applied* by" not in decided and ActionId.APPLY_PREVIEW not in decided
    asked = asking(bot, applied.id)
    assert f"Applies preview #{preview_id}" in text_of(asked["blocks"])

    # Whoever clicked Apply cannot approve it (though they did not request the preview).
    bot.user(OWNER).click(ActionId.APPROVE_RUN, message=asked)
    told(bot, OWNER, f"You requested run #{applied.id}")
    assert bot.service.get(applied.id).status is RunStatus.PENDING_APPROVAL
    assert contents(bot, wids) == dict.fromkeys(wids)

    bot.user(ADMIN).click(ActionId.APPROVE_RUN, message=asked)

    told(bot, ADMIN, f"You approved: it is queued (run #{applied.id})")
    done = bot.wait_run(applied.id)
    assert done.status is RunStatus.COMPLETED, done.error
    assert contents(bot, wids) == fetched
    assert naming(bot, wids, since=requests) == []  # no Workday request for them
    # The apply's message: its final state follows the run's end by a moment (the status updates' pace).
    final = preview_message(bot, applied.id, containing="Completed")
    assert not approval_actions(final) and f"Approved by <@{ADMIN}>" in text_of(final["blocks"])


def test_apply_at_the_setting_runs_at_once(approving_bot: Bot) -> None:
    bot = approving_bot
    wids = bot.sandbox.data.customer_wids[1 : 1 + ABOVE]
    preview_id = preview_from_the_form(bot, wids)

    bot.user(ADMIN).click(ActionId.APPLY_PREVIEW, preview_message(bot, preview_id))

    [applied] = bot.wait_for(lambda: runs_of_kind(bot, RunKind.APPLY))
    assert bot.wait_run(applied.id).status is RunStatus.COMPLETED
    assert bot.service.get(applied.id).approval is None
    decided = text_of(preview_message(bot, preview_id, containing="*Applied* by")["blocks"])
    assert f"run #{applied.id} writes this preview" in decided
