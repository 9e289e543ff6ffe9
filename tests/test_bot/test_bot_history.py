"""`/workday-resync history`: past runs, most recent first, paged within Slack's 50 blocks."""

from __future__ import annotations

import json
import re
from typing import Any

from kits.slack_bot import ADMIN, CHANNEL, Bot, final_status, request_run

from bot.ids import COMMAND, ActionId
from bot.mrkdwn import escape
from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.run_errors import NOTHING_RESOLVED


def run_numbers(page: dict[str, Any]) -> list[int]:
    return [
        int(number)
        for number in re.findall(r"\*Run #(\d+)\*", json.dumps(page["blocks"], ensure_ascii=False))
    ]


def pages(bot: Bot) -> list[dict[str, Any]]:
    return [e for e in bot.slack.ephemeral(ADMIN) if "Batch synchronizations" in e["text"]]


def test_history_pages_most_recent_first_within_fifty_blocks(bot: Bot) -> None:
    slack_run = request_run(bot, ["C-000002"])
    final_status(bot, slack_run.id)
    bot.wait_for(lambda: bot.service.get(slack_run.id).announcement.link)
    for _ in range(21):
        bot.service.submit(IdentifierType.REFERENCE, ["C-404404"], requested_by="cli:ops")
    bot.sandbox.knobs.unauthorized_operations = {"Get_Customer_Payments"}
    wids = [c.wid for c in bot.sandbox.data.customers[10:25]]
    last = bot.service.submit(IdentifierType.SOURCE_ID, wids, requested_by="cli:ops")
    assert bot.wait_run(last.id).status is RunStatus.ERROR
    for run_id in range(1, last.id + 1):
        bot.wait_run(run_id)
    ana = bot.user(ADMIN)

    ana.slash_command(COMMAND, text="history", channel=CHANNEL)
    [first] = bot.wait_for(lambda: pages(bot))
    ana.click(ActionId.HISTORY_MORE, message=first)
    second = bot.wait_for(lambda: len(pages(bot)) == 2 and pages(bot)[1])
    ana.click(ActionId.HISTORY_MORE, message=second)
    third = bot.wait_for(lambda: len(pages(bot)) == 3 and pages(bot)[2])

    assert run_numbers(first) == list(range(23, 13, -1))
    assert run_numbers(second) == list(range(13, 3, -1))
    assert run_numbers(third) == [3, 2, 1]
    assert all(len(page["blocks"]) <= 50 for page in (first, second, third))
    assert "Show more" in json.dumps(second) and "Show more" not in json.dumps(third)

    text = json.dumps(first["blocks"], ensure_ascii=False)
    assert "<!date^" in text and ":x: Error" in text and "by cli:ops" in text
    assert f"\\n> {NOTHING_RESOLVED}" in text  # the error, quoted
    assert "Customers 0 · Invoices 0 · Payments 0 · Credit notes 0" in text
    oldest = json.dumps(third["blocks"], ensure_ascii=False)
    permalink = bot.service.get(slack_run.id).announcement.link
    assert f"<{permalink}|Status thread>" in oldest and "by <@U_ADMIN>" in oldest
    assert ":white_check_mark: Completed" in oldest

    # The long error is cut in the list; its full text is one click away.
    error = bot.service.get(last.id).error
    assert error is not None and len(error) > 300 and escape(error) not in text
    ana.click(ActionId.HISTORY_ERROR, message=first)
    [full] = bot.wait_for(
        lambda: [e for e in bot.slack.ephemeral(ADMIN) if e["text"].startswith(f"Run #{last.id}:")]
    )
    assert "".join(block["text"]["text"] for block in full["blocks"][1:]) == escape(error)


def test_history_without_runs(bot: Bot) -> None:
    bot.user(ADMIN).slash_command(COMMAND, text="history", channel=CHANNEL)
    [said] = bot.wait_for(lambda: bot.slack.ephemeral(ADMIN))
    assert said["text"] == "No batch runs yet."
