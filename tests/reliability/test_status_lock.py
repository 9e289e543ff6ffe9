"""The worker updating a run's Slack message is SIGKILLed inside the message's update lock, while the run
goes on in another worker process: the lock dies with its holder, so the final state still reaches Slack
within seconds of the run's end (it used to wait out a 120 s lock).

Deterministic: Slack (the emulator) does the holder's chat.update but holds its answer, so the holder is
inside the lock, waiting, when it is killed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from kits.reliability import WorkerProcess, live_workers, status_shown, wait_for, worker_environment
from kits.slack_bot import request_run, running_bot

from bot.status.actor import SLACK_QUEUE
from devtools.slack_emulator import SlackEmulator
from sync_engine import jobs
from sync_engine.domain import RunStatus
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData

CUSTOMERS = 30
#: How long a killed holder's lock may hold the final state back, at most, before this test gives up:
#: generous for a loaded machine, well under the old 120 s lock.
FINAL_STATE_CAP = 60.0


@pytest.mark.timeout(240)
def test_an_updater_killed_inside_the_status_lock_does_not_hold_back_the_final_state(
    postgres_database: Database, clean_redis: str, slack: SlackEmulator, tmp_path: Path
) -> None:
    data = SandboxData.generate(customers=CUSTOMERS, seed=61, big_customer_documents=60)
    # Slack applies chat.update at once but answers it only after 10 minutes.
    slack.knobs.answer_delay["chat.update"] = 600
    with running_bot(
        postgres_database, slack, data, clean_redis, embedded_worker=False, slack_status_interval=0.3
    ) as bot:
        bot.sandbox.knobs.latency = 0.3  # the run lasts long enough to outlive the kill
        environment = worker_environment(
            bot.sandbox,
            postgres_database,
            clean_redis,
            **slack.slack_env(),
            SLACK_STATUS_INTERVAL="0.3",
            SLACK_UPDATES_PER_MINUTE="600",
            # One customer a request: the run lasts long enough, and progresses often enough, for the kill.
            WORKDAY_CUSTOMERS_PER_GROUP="1",
        )
        engine_worker = WorkerProcess(environment, tmp_path / "engine.log", threads=2, queues=(jobs.QUEUE,))
        holder = WorkerProcess(environment, tmp_path / "holder.log", threads=2, queues=(SLACK_QUEUE,))
        other: WorkerProcess | None = None
        try:
            wait_for(lambda: live_workers(clean_redis) == 2, 60, "two workers")
            run = request_run(bot, data.customer_wids[:CUSTOMERS], kind="source_id")
            # The holder (the only status worker so far) is inside the lock, waiting for Slack's answer.
            wait_for(lambda: slack.calls_to("chat.update"), 60, "a chat.update")
            other = WorkerProcess(environment, tmp_path / "other.log", threads=2, queues=(SLACK_QUEUE,))
            wait_for(lambda: live_workers(clean_redis) == 3, 60, "the other status worker")
            # The worst moment: the run is about to end while the dead holder's lock would still live.
            wait_for(
                lambda: bot.service.get(run.id).counts.customers >= CUSTOMERS - 2, 120, "the last customers"
            )
            holder.kill()
            killed_at = datetime.now(UTC)
            slack.knobs.answer_delay.clear()
            assert not bot.service.get(run.id).is_final, "the run ended before the kill"
            assert "In progress" in status_shown(slack)

            done = wait_for(lambda: (r := bot.service.get(run.id)).is_final and r, 120, "the run to end")
            wait_for(lambda: "Completed" in status_shown(slack), FINAL_STATE_CAP, "the final state in Slack")
            shown_at = datetime.now(UTC)
        finally:
            for process in (engine_worker, holder, other):
                if process is not None:
                    process.kill()
    assert done.status is RunStatus.COMPLETED, done.error
    assert done.finished_at is not None
    print(
        f"\nStatus updater SIGKILLed inside the lock {(done.finished_at - killed_at).total_seconds():.1f} s "
        f"before the run's end: final state in Slack {(shown_at - done.finished_at).total_seconds():.1f} s "
        "after the run's end"
    )
