"""The run's status message, end to end: posted at Received, updated In progress, Completed or Error;
records file and error reply in its thread; DM fallback; within chat.update's tier; nothing repeated."""

from __future__ import annotations

import json

from kits.slack_bot import (
    ADMIN,
    CHANNEL,
    OUTSIDE,
    Bot,
    error_replies,
    fields,
    final_status,
    records_files,
    request_run,
    status_posts,
    synchronize,
)
from kits.stack import expected_counts

from bot.ids import ActionId, BlockId
from bot.status.once_only import Step
from sync_engine.domain import AnnouncementStep, RunStatus
from sync_engine.run_errors import NOTHING_RESOLVED


def _shown_in_progress(bot: Bot) -> bool:
    updates = [call.params["blocks"] for call in bot.slack.calls_to("chat.update")]
    return any(fields(blocks).get("Status") == ":hourglass_flowing_sand: In progress" for blocks in updates)


def test_a_run_from_command_to_completed(bot_both: Bot) -> None:
    bot = bot_both
    bot.sandbox.knobs.latency = 0.1  # resolving takes a moment: the message is posted at Received
    customers = bot.sandbox.data.customers[1:7]
    identifiers = [c.customer_id for c in customers if c.customer_id] + ["C-999999", "<!channel>"]

    run = request_run(bot, identifiers)
    # Its customers come in one request: Workday slow until the message has shown In progress.
    bot.sandbox.knobs.latency = 1.0
    bot.wait_for(lambda: _shown_in_progress(bot))
    bot.sandbox.knobs.latency = 0.0

    message = final_status(bot, run.id)
    run = bot.service.get(run.id)
    counts = expected_counts(bot.sandbox.data, [c.wid for c in customers])
    assert run.status is RunStatus.COMPLETED and run.counts == counts
    assert message["blocks"][0]["text"]["text"] == "Batch synchronization | Workday"
    shown = fields(message["blocks"])
    assert shown == {
        "Requested by": "<@U_ADMIN>",
        "Requested": shown["Requested"],
        "Identifier type": "Reference (customer number)",
        "Status": ":white_check_mark: Completed",
        "Customers": "6",
        "Invoices": str(counts.invoices),
        "Payments": str(counts.payments),
        "Credit notes": str(counts.credit_notes),
    }
    assert shown["Requested"].startswith(f"<!date^{int(run.created_at.timestamp())}^")
    text = json.dumps(message["blocks"])
    assert ":stopwatch: Completed in " in text
    assert "*Not found on Workday (2):* `C-999999`, `&lt;!channel&gt;`" in text
    assert "<!channel>" not in text and message["edited"] >= 1

    # The stages the admin saw: Received when posted, then In progress as customers synced.
    [post] = status_posts(bot.slack)
    assert fields(post.params["blocks"])["Status"] == ":inbox_tray: Received"
    assert fields(post.params["blocks"])["Customers"] == "0 of 8"
    updates = [fields(call.params["blocks"]) for call in bot.slack.calls_to("chat.update") if call.ok]
    assert any(update["Status"] == ":hourglass_flowing_sand: In progress" for update in updates)

    # The records file: the exact identifier list, one per line, in the status message's thread.
    [records] = records_files(bot.slack)
    assert records["content"].decode() == "".join(f"{identifier}\n" for identifier in identifiers)
    assert (records["channel"], records["thread_ts"]) == (CHANNEL, message["ts"])
    assert records["name"] == f"workday-resync-run-{run.id}-identifiers.txt"
    assert error_replies(bot) == []


def test_a_run_ending_in_error_says_so_in_the_message_and_the_thread(bot_both: Bot) -> None:
    bot = bot_both
    run = request_run(bot, ["C-404404", "C-505505"])

    message = final_status(bot, run.id)

    assert fields(message["blocks"])["Status"] == ":x: Error"
    assert f":x: *Error:* {NOTHING_RESOLVED}" in json.dumps(message["blocks"])
    [reply_message] = bot.wait_for(lambda: error_replies(bot))
    assert reply_message["thread_ts"] == message["ts"]
    assert reply_message["blocks"][0]["text"]["text"] == f"<@{ADMIN}> run #{run.id} ended in error:"
    assert reply_message["blocks"][1]["text"]["text"] == NOTHING_RESOLVED
    assert [f["content"] for f in records_files(bot.slack)] == [b"C-404404\nC-505505\n"]


def test_a_fatal_error_arrives_whole_in_the_thread(bot: Bot) -> None:
    bot.open_request(bot.user(ADMIN))  # Workday verified connected (cached) before the permission goes
    bot.sandbox.knobs.unauthorized_operations = {"Get_Customer_Payments"}
    wids = [c.wid for c in bot.sandbox.data.customers[10:30]]
    run = request_run(bot, wids, kind="source_id")

    message = final_status(bot, run.id)
    run = bot.service.get(run.id)

    assert run.status is RunStatus.ERROR and run.error is not None and len(run.error) > 500
    [reply] = bot.wait_for(lambda: error_replies(bot))
    assert "".join(block["text"]["text"] for block in reply["blocks"][1:]) == run.error
    assert fields(message["blocks"])["Customers"] == f"0 of {len(wids)}"


def test_the_status_goes_to_a_dm_when_the_app_is_not_in_the_channel(bot: Bot) -> None:
    run = request_run(bot, ["C-000003"], channel=OUTSIDE)
    dm = bot.slack._ws.dm(ADMIN).id

    message = final_status(bot, run.id, channel=dm)

    assert fields(message["blocks"])["Status"] == ":white_check_mark: Completed"
    assert bot.status_messages(OUTSIDE) == [] and bot.slack.messages(OUTSIDE) == []
    bot.wait_for(lambda: len(bot.slack.files) == 2)  # the records file, then the results file
    assert [(f["channel"], f["thread_ts"]) for f in bot.slack.files] == [(dm, message["ts"])] * 2
    assert bot.service.get(run.id).slack_channel == dm


def test_the_status_goes_to_a_dm_when_posting_in_the_channel_fails(bot: Bot) -> None:
    bot.slack.knobs.fail_next["chat.postMessage"] = "not_in_channel"
    run = request_run(bot, ["C-000003"])
    dm = bot.slack._ws.dm(ADMIN).id

    message = final_status(bot, run.id, channel=dm)

    assert message["text"].startswith(f"Batch synchronization | Workday: run #{run.id}")
    assert bot.status_messages(CHANNEL) == []


def test_redelivered_updates_repeat_nothing(bot: Bot) -> None:
    run = request_run(bot, ["C-404404"])
    final_status(bot, run.id)
    bot.wait_for(lambda: len(bot.slack.files) == 2 and error_replies(bot))  # records, results
    # The Confirm switched the admin's Home to History, which shows the run's end too, last its results
    # file's link (published once the final update is done).
    bot.wait_for(lambda: "|Results (CSV)>" in json.dumps(bot.slack.home(ADMIN) or {}, ensure_ascii=False))
    calls = len(bot.slack.calls)

    for _ in range(3):  # as if Dramatiq delivered the last messages again
        bot.deliver_status_update(run.id, final=True)
        bot.deliver_status_update(run.id)

    # Status updates never touch a modal: a views.update is the form's connection badge, which may land
    # late on a loaded machine.
    assert [c.method for c in bot.slack.calls[calls:] if c.method != "views.update"] == []
    assert len(bot.slack.files) == 2 and len(error_replies(bot)) == 1 and len(bot.status_messages()) == 1


def test_a_claim_left_by_a_dead_worker_is_taken_over(bot: Bot) -> None:
    # A worker claimed the status message and the error reply, then died before doing either.
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "C-404404")
    draft = synchronize(ana)
    announcements = bot.service.announcements()
    for step in (Step.STATUS_MESSAGE, Step.ERROR_REPLY):
        assert announcements.claim_step(draft, step, "a-worker-that-died")

    ana.submit()  # Confirm

    final_status(bot, draft)
    bot.wait_for(lambda: error_replies(bot))

    # The steps are marked done just after the posts the emulator has already seen.
    def both_done() -> dict[str, AnnouncementStep] | None:
        steps = bot.service.get(draft).announcement.steps
        done = all(step in steps and steps[step].done for step in (Step.STATUS_MESSAGE, Step.ERROR_REPLY))
        return steps if done else None

    steps = bot.wait_for(both_done)
    assert steps[Step.STATUS_MESSAGE].attempt == 2 and steps[Step.ERROR_REPLY].attempt == 2
    assert len(bot.status_messages()) == 1 and len(error_replies(bot)) == 1
