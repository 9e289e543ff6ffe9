"""A finished run's per-customer results: one CSV in its status message's thread, whatever the
redeliveries, matching the sandbox's truth, and linked from the Home tab's History."""

from __future__ import annotations

import csv
import io
import json
import threading
from typing import Any

from kits.slack_bot import ADMIN, CHANNEL, Bot, final_status, request_run
from slack_sdk import WebClient

from sync_engine.results import CSV_HEADER, results_csv
from sync_engine.run_errors import NOT_FOUND_ON_WORKDAY


def _results_files(bot: Bot, run_id: int) -> list[dict[str, Any]]:
    return [f for f in bot.slack.files if f["name"] == f"workday-resync-run-{run_id}-results.csv"]


def test_the_thread_gets_one_results_csv_matching_the_sandbox(bot_both: Bot) -> None:
    bot = bot_both
    data = bot.sandbox.data
    customers = [c for c in data.customers[1:8] if c.customer_id and any(data.counts(c.wid))][:4]
    failing = customers[-1]
    # Workday refuses this customer's payments to the integration user: it alone fails.
    bot.sandbox.knobs.hidden_payments_of = {failing.wid}
    unknown = ["C-404404", "=1+2"]
    run = request_run(bot, [c.customer_id or "" for c in customers] + unknown)

    message = final_status(bot, run.id)
    [uploaded] = bot.wait_for(lambda: _results_files(bot, run.id))
    # The admin's Home (on History since the Confirm) shows the link once the final update let go of the
    # run's lock: the updates below are not merely deferred behind it.
    link = bot.wait_for(lambda: bot.service.get(run.id).announcement.results_link)
    bot.wait_for(lambda: _home_links(bot, link))
    # Several workers and Dramatiq redeliveries bring the final update again, some at once.
    again = [
        threading.Thread(target=bot.deliver_status_update, args=(run.id,), kwargs={"final": True})
        for _ in range(4)
    ]
    for thread in again:
        thread.start()
    for thread in again:
        thread.join(timeout=60)
    bot.deliver_status_update(run.id, final=True)

    assert _results_files(bot, run.id) == [uploaded]
    assert (uploaded["channel"], uploaded["thread_ts"]) == (CHANNEL, message["ts"])
    content = uploaded["content"].decode("utf-8-sig")  # a BOM first, for Excel
    assert uploaded["content"].startswith(b"\xef\xbb\xbf")
    assert content == results_csv(bot.service.results(run.id))
    rows = list(csv.reader(io.StringIO(content, newline="")))
    assert rows[0] == list(CSV_HEADER)
    by_identifier = {row[0]: row for row in rows[1:]}
    assert len(rows) == 1 + len(customers) + len(unknown)
    for customer in customers[:-1]:
        counts = [str(n) for n in data.counts(customer.wid)]
        assert by_identifier[customer.customer_id or ""] == [
            customer.customer_id,
            customer.wid,
            data.customer(customer.wid).name,
            "synced",
            *counts,
            "",
        ]
    failed = by_identifier[failing.customer_id or ""]
    assert failed[:7] == [failing.customer_id, failing.wid, failing.name, "failed", "0", "0", "0"]
    assert failed[7] and failed[7] in (bot.service.get(run.id).error or "")
    assert by_identifier["C-404404"] == [
        "C-404404",
        "",
        "",
        "unresolved",
        "0",
        "0",
        "0",
        NOT_FOUND_ON_WORKDAY,
    ]
    assert by_identifier["'=1+2"][3] == "unresolved"  # a formula-like identifier, behind an apostrophe

    # Read back through Slack's files API: the file History links to.
    web = WebClient(token=bot.slack.bot_token, base_url=bot.slack.api_url)
    info = web.files_info(file=uploaded["id"])["file"]
    assert info["name"] == f"workday-resync-run-{run.id}-results.csv"
    assert bot.service.get(run.id).announcement.results_link == info["permalink"]


def test_home_history_links_the_results_file(bot: Bot) -> None:
    run = request_run(bot, ["C-000003"])  # the Confirm switches the admin's Home to History
    final_status(bot, run.id)
    link = bot.wait_for(lambda: bot.service.get(run.id).announcement.results_link)

    assert bot.wait_for(lambda: _home_links(bot, link))


def _home_links(bot: Bot, link: str) -> bool:
    view = bot.slack.home(ADMIN)
    return view is not None and f"<{link}|Results (CSV)>" in json.dumps(view["blocks"], ensure_ascii=False)
