"""The worker that took a run's final status update is SIGKILLed while delivering it; another worker
process (with Slack settings) lives on: the final state still reaches Slack within seconds of the run's
end (it used to wait for Dramatiq to requeue the dead worker's message, 15 s or more, or for ever when
no other process consumes status updates).

Deterministic: the killed worker is the only one consuming status updates, so it takes the final one;
updates are throttled for 10 minutes, so the one chat.update after the status message was posted is the
final state's; Slack (the emulator) holds that request before seeing it, so the worker is inside its
final delivery, in the per-run lock, when it is killed, and the request never arrives.
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

CUSTOMERS = 20
#: How long this test waits for the final state after the kill before it gives up: generous for a loaded
#: machine, far beyond the sweep's seconds.
FINAL_STATE_CAP = 90.0


@pytest.mark.timeout(300)
def test_the_final_state_reaches_slack_when_the_worker_delivering_it_is_killed(
    postgres_database: Database, clean_redis: str, slack: SlackEmulator, tmp_path: Path
) -> None:
    data = SandboxData.generate(customers=CUSTOMERS, seed=67)
    with running_bot(postgres_database, slack, data, clean_redis, embedded_worker=False) as bot:
        bot.sandbox.knobs.latency = 0.2  # the run lasts long enough to hold chat.update before its end
        environment = worker_environment(
            bot.sandbox,
            postgres_database,
            clean_redis,
            **slack.slack_env(),
            # After the status message is posted, no update but the final one (final states skip this).
            SLACK_STATUS_INTERVAL="600",
            SLACK_UPDATES_PER_MINUTE="600",
        )
        # Runs the jobs; has the Slack settings but takes no status update from the queue.
        engine_worker = WorkerProcess(environment, tmp_path / "engine.log", threads=2, queues=(jobs.QUEUE,))
        # The only process taking status updates: it takes the final one.
        deliverer = WorkerProcess(environment, tmp_path / "deliverer.log", threads=2, queues=(SLACK_QUEUE,))
        try:
            wait_for(lambda: live_workers(clean_redis) == 2, 60, "two workers")
            run = request_run(bot, data.customer_wids[:CUSTOMERS], kind="source_id")
            wait_for(lambda: status_shown(slack), 60, "the status message")
            slack.knobs.hold_requests.add("chat.update")
            updates_before = len(slack.calls_to("chat.update"))
            assert not bot.service.get(run.id).is_final, "the run ended before chat.update was held"

            # The deliverer is inside the final update, waiting for Slack; then it dies.
            wait_for(lambda: slack.held("chat.update"), 120, "the final chat.update")
            done = bot.service.get(run.id)
            assert done.is_final, "a chat.update before the run's end"
            deliverer.kill()
            killed_at = datetime.now(UTC)
            wait_for(lambda: not slack.held("chat.update"), 30, "the killed worker's request to go away")
            slack.knobs.hold_requests.clear()
            assert "Completed" not in status_shown(slack)

            wait_for(lambda: "Completed" in status_shown(slack), FINAL_STATE_CAP, "the final state in Slack")
            shown_at = datetime.now(UTC)
        finally:
            for process in (engine_worker, deliverer):
                process.kill()
    assert done.status is RunStatus.COMPLETED, done.error
    assert done.finished_at is not None
    # Delivered once, by the sweep: the killed worker's request never arrived, nothing was repeated.
    assert len(slack.calls_to("chat.update")) == updates_before + 1
    killed = (killed_at - done.finished_at).total_seconds()
    shown = (shown_at - done.finished_at).total_seconds()
    print(
        f"\nWorker delivering the final status SIGKILLed {killed:.1f} s after the run's end: "
        f"final state in Slack {shown:.1f} s after the run's end"
    )
