"""The Slack rows of `python -m devtools.bench`: how fast the app acknowledges Slack, and how many status
updates a run costs.

Everything real but Slack and Workday, which are the emulator and the sandbox over sockets: the Bolt app
behind its HTTP server, the engine with its embedded worker and the Slack plugin, a scratch SQLite store,
in a process of their own (`app_process`), as `serve` runs. The emulator's users' signed requests go out
from a process of their own too (`slack_edge`), as Slack's edge is other machines; `elapsed` is what the
user waits for.
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bot.ids import COMMAND, ActionId
from bot.messages import HISTORY_PAGE_SIZE
from devtools.bench import BenchRow
from devtools.bench.app_process import AppProcess
from devtools.bench.slack_edge import THINK_SECONDS, send_from_the_edge
from devtools.slack_admin import (
    draft_id,
    fill_request_form,
    open_request_form,
    sandbox_app_settings,
    submit_request_form,
)
from devtools.slack_emulator import SlackEmulator, SlackUser
from sync_engine.domain import BatchRun
from sync_engine.workday.sandbox import Sandbox, SandboxData, SandboxKnobs

__all__ = ["ACK_GOAL", "slack_rows"]

SECTION = "3. Slack (emulator over HTTP, embedded worker, SQLite)"
CHANNEL = "C_BENCH"
#: p99 of the acknowledgements, seconds (Slack gives up after 3 s).
ACK_GOAL = 0.025
#: The status-update runs: latency and rate so that the 100-customer run lasts several status intervals.
RUN_LATENCY = 0.1
RUN_RATE = 20.0


def slack_rows(
    *,
    requests: int = 200,
    concurrency: int = 20,
    run_sizes: tuple[int, ...] = (10, 100),
    busy_run: int = 100,
) -> list[BenchRow]:
    """Ack latency of `requests` signed commands and clicks, `concurrency` at a time, while a run of
    `busy_run` customers works; chat.update calls of one run per size in `run_sizes`."""
    size = max(*run_sizes, busy_run)
    data = SandboxData.generate(customers=size, seed=3, big_customer_documents=20, total_documents=4 * size)
    with (
        tempfile.TemporaryDirectory(prefix="workday-resync-bench-") as directory,
        SlackEmulator() as slack,
        Sandbox(data, knobs=SandboxKnobs(latency=RUN_LATENCY)) as sandbox,
    ):
        users = [f"U_BENCH{n:02d}" for n in range(concurrency)]
        for user_id in users:
            slack.add_user(user_id, name=user_id.lower(), is_admin=True)
        slack.add_channel(CHANNEL, name="finance", bot_member=True)
        # Each customer fetched alone: the busy run then works (requests, parses, writes) through all the
        # acks, as a run of large customers does; in groups of 50 it ended before the acks did.
        settings = sandbox_app_settings(
            sandbox,
            slack,
            f"sqlite:///{Path(directory) / 'slack.db'}",
            workday_rate_limit=RUN_RATE,
            workday_customers_per_group=1,
        )
        rows: list[BenchRow] = []
        with AppProcess(settings) as app:
            for size in run_sizes:
                references = [customer.customer_id or "" for customer in data.customers[:size]]
                admin = slack.user(users[0], app.url)
                rows.append(_status_updates(slack, app, admin, references, settings.slack_status_interval))
            # History needs more than a page of runs for its "more" button.
            for n in range(HISTORY_PAGE_SIZE + 1 - len(run_sizes)):
                _wait_final(app, app.submit([data.customer_wids[n % len(data.customer_wids)]]))
            clients: list[SlackUser] = [slack.user(user, app.url) for user in users]
            busy = app.submit(data.customer_wids[:busy_run])
            rows[:0] = _acks(slack, app.url, clients, requests, busy=lambda: not app.get(busy).is_final)
            _wait_final(app, busy)
    return rows


def _acks(
    slack: SlackEmulator, url: str, users: list[SlackUser], requests: int, *, busy: Callable[[], bool]
) -> list[BenchRow]:
    """Each user in turn: `/workday-resync history`, then a click on the "more" button of a page it was
    shown; all users at once, sent from Slack's side (`slack_edge`); `busy`: whether the run meant to
    work meanwhile still does."""
    for user in users:  # a page with its "more" button for each user to click
        assert user.slash_command(COMMAND, "history", channel=CHANNEL).error is None
        slack.wait_for(partial(_shows_more, slack, user), 10)
    sequences = [
        [
            user.prepared_click(ActionId.HISTORY_MORE)
            if n % 2
            else user.prepared_slash_command(COMMAND, "history", channel=CHANNEL)
            for n in range(requests // len(users))
        ]
        for user in users
    ]
    answered = len(slack.calls_to("response_url"))
    slack.wait_for(busy, 10)  # the run is queued: it works from now on
    answers = [answer for answers in send_from_the_edge(url, sequences) for answer in answers]
    worked_throughout = busy()
    # Each request's page follows its ack through its response_url: let them all arrive before stopping.
    slack.wait_for(lambda: len(slack.calls_to("response_url")) - answered >= len(answers), 30)
    failed = sum(answer.status != 200 for answer in answers)
    elapsed = sorted(answer.elapsed for answer in answers)
    p99 = statistics.quantiles(elapsed, n=100, method="inclusive")[98]
    return [
        BenchRow(
            SECTION,
            f"Ack of a signed command / click ({len(answers)} requests, {len(users)} at once, each user "
            f"{THINK_SECONDS * 1000:g} ms between an answer and its next request), while a run works: p50",
            f"{statistics.median(elapsed) * 1000:.0f} ms",
        ),
        BenchRow(
            SECTION,
            "Ack p99 / max",
            f"{p99 * 1000:.0f} ms / {elapsed[-1] * 1000:.0f} ms",
            f"p99 < {ACK_GOAL * 1000:.0f} ms, none failed ({failed} failed)"
            + ("" if worked_throughout else "; the run ended before the acks did"),
            p99 < ACK_GOAL and failed == 0 and worked_throughout,
        ),
    ]


def _shows_more(slack: SlackEmulator, user: SlackUser) -> bool:
    return any(ActionId.HISTORY_MORE in json.dumps(m["blocks"]) for m in slack.ephemeral(user.user_id))


def _status_updates(
    slack: SlackEmulator, app: AppProcess, user: SlackUser, references: list[str], interval: float
) -> BenchRow:
    """Request a run as an admin does (command, modal, submit, Confirm) and count its chat.update calls."""
    before = len(slack.calls_to("chat.update"))
    open_request_form(slack, user, CHANNEL)
    fill_request_form(user, references)
    submit_request_form(user)
    started = time.monotonic()
    run_id = draft_id(user.open_view())
    confirmed = user.submit()  # Confirm
    assert confirmed.error is None, confirmed
    final = _wait_final(app, run_id)
    # The final state is never held back: wait until the status message shows it.
    slack.wait_for(
        lambda: any(final.status.label in json.dumps(m["blocks"]) for m in slack.messages(CHANNEL)), 30
    )
    duration = time.monotonic() - started
    updates = len(slack.calls_to("chat.update")) - before
    bound = math.ceil(duration / interval) + 1
    return BenchRow(
        SECTION,
        f"chat.update calls, run of {len(references)} customers ({duration:.1f} s)",
        f"{updates}",
        f"≤ {bound} (one per {interval:g} s + the final one)",
        updates <= bound,
    )


def _wait_final(app: AppProcess, run_id: int) -> BatchRun:
    deadline = time.monotonic() + 600
    while not (run := app.get(run_id)).is_final:
        if time.monotonic() >= deadline:
            raise TimeoutError(f"run {run_id} still {run.status.label} after 600 s")
        time.sleep(0.05)
    return run
