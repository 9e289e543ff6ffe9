"""A second pair of eyes in Slack (RESYNC_APPROVAL_ABOVE): the status message of a run above the setting
asks another admin to Approve or Reject; its requester and non-admins are refused; after a decision the
buttons give way to who decided. Clicks go through the emulator over HTTP; the run on a real worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from kits.slack_bot import ADMIN, ALLOWED, OWNER, PLAIN, Bot, final_status, request_run
from kits.stack import expected_counts
from sqlalchemy import update

from bot import messages
from bot.ids import ActionId, BlockId
from devtools.slack_emulator import SentRequest
from sync_engine.approval import APPROVAL_TTL
from sync_engine.clock import utcnow
from sync_engine.domain import ApprovalDecision, RunStatus
from sync_engine.identifiers import WARNING
from sync_engine.store.models import RunApprovalRow

ABOVE = 2


@pytest.fixture
def approving_bot(bot_with: Callable[..., Bot]) -> Bot:
    return bot_with(admin_cache_seconds=0, resync_approval_above=ABOVE)


def approval_actions(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        block
        for block in message["blocks"]
        if block["type"] == "actions" and block.get("block_id", "").startswith(BlockId.APPROVAL.value)
    ]


def asking(bot: Bot, run_id: int) -> dict[str, Any]:
    """The run's status message once it asks for approval."""

    def shown() -> dict[str, Any] | None:
        for message in bot.status_messages():
            if f"Run #{run_id} " in json.dumps(message["blocks"]) and approval_actions(message):
                return message
        return None

    return bot.wait_for(shown)


def told(bot: Bot, user: str, text: str) -> dict[str, Any]:
    return bot.wait_for(lambda: next((e for e in bot.slack.ephemeral(user) if text in e["text"]), None))


def request_held(bot: Bot) -> tuple[Any, list[str]]:
    customers = bot.sandbox.data.customers[1 : 2 + ABOVE]
    run = request_run(bot, [c.customer_id or "" for c in customers])
    assert run.status is RunStatus.PENDING_APPROVAL
    view = bot.user(ADMIN).open_view()
    assert "awaits another admin's approval" in json.dumps(view["blocks"])
    return run, [c.wid for c in customers]


def test_another_admin_approves_after_the_requester_and_a_non_admin_are_refused(approving_bot: Bot) -> None:
    bot = approving_bot
    run, wids = request_held(bot)
    message = asking(bot, run.id)
    [actions] = approval_actions(message)
    approve, reject = actions["elements"]
    assert (approve["text"]["text"], approve["style"]) == ("Approve", "primary")
    assert (reject["text"]["text"], reject["style"]) == ("Reject", "danger")
    assert approve["confirm"]["text"]["text"] == WARNING.format(n=len(wids))
    assert "Awaiting approval" in json.dumps(message["blocks"])

    # The requester cannot approve their own run; a member who is not an admin cannot either.
    bot.user(ADMIN).click(ActionId.APPROVE_RUN, message=message)
    told(bot, ADMIN, f"You requested run #{run.id}")
    bot.user(PLAIN).click(ActionId.APPROVE_RUN, message=message)
    bot.user(PLAIN).click(ActionId.REJECT_RUN, message=message)
    bot.wait_for(lambda: len([e for e in bot.slack.ephemeral(PLAIN) if e["text"] == refusal(bot)]) == 2)
    assert bot.service.get(run.id).status is RunStatus.PENDING_APPROVAL

    # Another admin approves: queued as Confirm queues, and it completes.
    owner = bot.user(OWNER)
    owner.click(ActionId.APPROVE_RUN, message=message)
    clicked = owner.last_sent
    told(bot, OWNER, f"You approved: it is queued (run #{run.id})")
    final = final_status(bot, run.id)
    done = bot.service.get(run.id)
    assert done.status is RunStatus.COMPLETED
    assert done.counts == expected_counts(bot.sandbox.data, wids)
    assert done.approval is not None and done.approval.decided_by == OWNER
    assert not approval_actions(final)  # the buttons gave way to who decided
    assert f"Approved by <@{OWNER}>" in json.dumps(final["blocks"])

    # Slack redelivering the click (the same bytes, signed anew) changes nothing.
    assert clicked is not None
    stamp = int(clicked.headers["X-Slack-Request-Timestamp"]) + 1
    owner.resend(SentRequest(clicked.body, {**clicked.headers, **owner.sign(clicked.body, timestamp=stamp)}))
    told(bot, OWNER, "was already decided")
    assert len(bot.service.history(limit=10)) == 1
    assert bot.service.get(run.id).approval == done.approval


def refusal(bot: Bot) -> str:
    return messages.refusal(bot.settings.resync_admin_usergroup).text


def test_a_rejected_run_shows_who_rejected_it_and_writes_nothing(approving_bot: Bot) -> None:
    bot = approving_bot
    run, _ = request_held(bot)
    message = asking(bot, run.id)

    bot.user(ALLOWED).click(ActionId.REJECT_RUN, message=message)

    final = final_status(bot, run.id)
    rejected = bot.service.get(run.id)
    assert rejected.status is RunStatus.REJECTED and rejected.counts.customers == 0
    assert rejected.approval is not None and rejected.approval.decision is ApprovalDecision.REJECTED
    assert not approval_actions(final)
    assert f"Rejected by <@{ALLOWED}>" in json.dumps(final["blocks"])


def test_an_approval_clicked_after_a_day_is_refused_and_the_run_ends_expired(approving_bot: Bot) -> None:
    bot = approving_bot
    run, _ = request_held(bot)
    message = asking(bot, run.id)
    with bot.rt.database.session() as session:  # a day has passed, and no sweep has run yet
        session.execute(
            update(RunApprovalRow)
            .where(RunApprovalRow.run_id == run.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    bot.user(OWNER).click(ActionId.APPROVE_RUN, message=message)

    told(bot, OWNER, f"Run #{run.id} expired")
    final = final_status(bot, run.id)
    assert bot.service.get(run.id).status is RunStatus.EXPIRED
    assert not approval_actions(final)
    assert "Approval expired" in json.dumps(final["blocks"])


def test_the_sweep_ends_an_unanswered_run_and_its_message_shows_it(approving_bot: Bot) -> None:
    bot = approving_bot
    run, _ = request_held(bot)
    asking(bot, run.id)

    # A day later, a worker's sweep ends it (driven here with the time it would see).
    assert bot.service.approvals().expire_overdue(utcnow() + APPROVAL_TTL + timedelta(seconds=1)) == [run.id]

    final = final_status(bot, run.id)
    assert not approval_actions(final)
    assert "Approval expired" in json.dumps(final["blocks"])
