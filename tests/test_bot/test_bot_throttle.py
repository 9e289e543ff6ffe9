"""Status updates stay inside chat.update's rate tier whatever the number of customers, Slack's 429s are
waited out, and the final state always arrives: in one process, and across worker processes (Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kits.slack_bot import Bot, fields, final_status, records_files, request_run, running_bot, status_posts
from kits.stack import expected_counts
from kits.workers import start_worker_command

from devtools.slack_emulator import SlackEmulator
from sync_engine.domain import RunStatus
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData

CUSTOMERS = 30


def updates(bot: Bot) -> tuple[int, int]:
    """chat.update calls that went through, and those Slack answered 429."""
    calls = bot.slack.calls_to("chat.update")
    return sum(1 for c in calls if c.ok), sum(1 for c in calls if c.status == 429)


def assert_completed_with_exact_counts(bot: Bot, run_id: int, wids: list[str]) -> float:
    message = final_status(bot, run_id)
    run = bot.service.get(run_id)
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.counts == expected_counts(bot.sandbox.data, wids)
    assert fields(message["blocks"])["Customers"] == str(len(wids))
    assert run.duration_seconds is not None
    return run.duration_seconds


def test_many_customers_make_a_bounded_number_of_updates(bot_both: Bot) -> None:
    bot = bot_both
    bot.sandbox.knobs.latency = 0.02
    wids = [c.wid for c in bot.sandbox.data.customers[:CUSTOMERS]]

    run = request_run(bot, wids, kind="source_id")
    duration = assert_completed_with_exact_counts(bot, run.id, wids)

    ok, limited = updates(bot)
    interval = bot.settings.slack_status_interval
    # One update per interval at most, plus the final one (a run publishes 30+ events).
    assert 1 <= ok <= duration / interval + 2, (ok, duration)
    assert limited == 0


def test_slacks_429s_are_waited_out_and_the_final_state_arrives(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> None:
    # Slack's tier shrunk to 3 updates per 1.5 s; the app is told it may do 600 a minute, so it hits 429s.
    # One customer a request (not groups): progress events, and so updates, come one per customer.
    slack.knobs.rate_limits["chat.update"] = 3
    slack.knobs.rate_window = 1.5
    with running_bot(
        sqlite_database, slack, sandbox_data, None, slack_status_interval=0.05, workday_customers_per_group=1
    ) as bot:
        bot.sandbox.knobs.latency = 0.03
        wids = [c.wid for c in bot.sandbox.data.customers[:CUSTOMERS]]

        run = request_run(bot, wids, kind="source_id")
        duration = assert_completed_with_exact_counts(bot, run.id, wids)

        ok, limited = updates(bot)
        assert limited >= 1  # Slack did say 429…
        assert limited <= 2 * (duration / 1.5 + 2)  # …and everyone paused until Retry-After
        assert ok <= 3 * (duration / 1.5 + 2)
        [message] = bot.status_messages()
        assert message["edited"] == ok


@pytest.fixture
def remote_bot(
    postgres_database: Database,
    redis_url: str,
    slack: SlackEmulator,
    sandbox_data: SandboxData,
    tmp_path: Path,
) -> Iterator[Bot]:
    """The app in this process (no worker); two `workday-resync worker` processes do jobs and updates."""
    with running_bot(postgres_database, slack, sandbox_data, redis_url, embedded_worker=False) as bot:
        workers = start_worker_command(bot.settings, postgres_database, tmp_path, processes=2)
        try:
            yield bot
        finally:
            workers.stop()


@pytest.mark.postgres
@pytest.mark.redis
def test_across_worker_processes_one_updater_and_the_final_state(remote_bot: Bot) -> None:
    bot = remote_bot
    bot.sandbox.knobs.latency = 0.02
    wids = [c.wid for c in bot.sandbox.data.customers[:CUSTOMERS]]

    run = request_run(bot, wids, kind="source_id")
    final_status(bot, run.id)  # waits for the run first (workers must boot)
    duration = assert_completed_with_exact_counts(bot, run.id, wids)

    ok, limited = updates(bot)
    assert ok <= duration / bot.settings.slack_status_interval + 2 and limited == 0
    assert len(bot.status_messages()) == 1 and len(records_files(bot.slack)) == 1
    assert len(status_posts(bot.slack)) == 1
