"""The Slack app's engine plugin: its status actor and the run observer that feeds it.

Declared as the `slack` entry point of `workday_resync.plugins`; every process that runs jobs or serves
Slack calls `install(rt)` before binding the broker (see `sync_engine.plugins`). The observer runs inside
the engine, in whichever process changed a run, so it only enqueues a message (quick, never raises);
the `update_slack_status` actor does the Slack calls in a worker thread (`bot.status`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import dramatiq
import redis

from bot.coordination import Coordination, LocalCoordination, RateBudget, RedisCoordination
from bot.final_sweep import FinalStateSweep
from bot.status import StatusPolicy, StatusUpdater
from bot.web_api import build_client
from sync_engine import (
    UNBOUND_BROKER,
    DramatiqDispatcher,
    Periodic,
    RunEvent,
    RunEventKind,
    RunService,
    Runtime,
    bind_log_fields,
    register_actor,
)

__all__ = ["SLACK_QUEUE", "catch_up", "install", "update_slack_status"]

log = logging.getLogger(__name__)

#: Status updates have their own queue: they must not wait behind a batch's customer jobs.
SLACK_QUEUE = "workday_resync_slack"
#: Burst of chat.update calls allowed at once before the per-minute budget applies.
UPDATE_BURST = 3

_updater: StatusUpdater | None = None


@dramatiq.actor(
    broker=UNBOUND_BROKER,
    queue_name=SLACK_QUEUE,
    # Connection trouble and Slack's 5xx; 429s are rescheduled by the updater itself, without retries.
    max_retries=5,
    min_backoff=1_000,
    max_backoff=30_000,
    time_limit=5 * 60_000,
)
def update_slack_status(run_id: int, final: bool = False, trailing: bool = False) -> None:
    """Bring run `run_id`'s Slack status message up to date (see `bot.status.StatusUpdater`)."""
    bind_log_fields(run_id=run_id)  # Dramatiq's retry and failure events of this job name the run too
    if _updater is None:
        # Another process queued this update; a worker without Slack settings cannot deliver it.
        log.error(
            "SLACK_BOT_TOKEN is not set on this worker: Slack status not updated", extra={"run_id": run_id}
        )
        return
    _updater.handle(run_id, final=final, trailing=trailing)


def _schedule(run_id: int, final: bool, delay: float) -> None:
    update_slack_status.send_with_options(
        args=(run_id,), kwargs={"final": final, "trailing": True}, delay=int(delay * 1000)
    )


def _observe(event: RunEvent) -> None:
    try:
        update_slack_status.send(event.run_id, event.kind is RunEventKind.FINISHED)
    except Exception:
        # The broker is down: the run goes on; the next event (or the final one) brings Slack up to date.
        log.warning("Could not queue a Slack status update", extra={"run_id": event.run_id}, exc_info=True)


def catch_up(service: RunService, *, recent: int = 20) -> int:
    """Queue a final status update for each of the `recent` last runs that finished without Slack
    showing it all; returns how many.

    For the embedded worker (no REDIS_URL), whose queued updates lived in the memory of a process that
    may have died: the run finished, its last update did not.
    """
    behind = [
        run.id
        for run in service.history(limit=recent)
        if run.is_final and run.slack_channel is not None and "final_shown" not in run.notes
    ]
    for run_id in behind:
        update_slack_status.send(run_id, True)
    if behind:
        log.info("Slack status of finished runs brought up to date", extra={"runs": behind})
    return len(behind)


def install(rt: Runtime) -> None:
    """Register the actor; with SLACK_BOT_TOKEN set, build the updater, observe runs, and give worker
    processes the sweep that delivers final states a dead worker took with it (`bot.final_sweep`)."""
    global _updater
    register_actor(update_slack_status)
    settings = rt.settings
    if settings.slack_bot_token is None:
        _updater = None
        return
    budget = RateBudget(per_minute=settings.slack_updates_per_minute, burst=UPDATE_BURST)
    coordination: Coordination
    if settings.redis_url:
        coordination = RedisCoordination(redis.Redis.from_url(settings.redis_url), budget)
    else:
        coordination = LocalCoordination(budget)
    service = RunService(rt.database, DramatiqDispatcher(), rt.events)
    _updater = StatusUpdater(
        service,
        build_client(settings, wait_on_rate_limits=False),
        coordination,
        _schedule,
        StatusPolicy(min_interval=settings.slack_status_interval),
    )
    rt.events.subscribe(_observe)
    sweep = FinalStateSweep(service, _updater, coordination)
    rt.worker_tasks.append(
        Periodic(
            "slack-final-sweep", sweep.sweep, every=timedelta(seconds=sweep.policy.every), immediately=True
        )
    )
