"""The Slack app's engine plugin: builds this process's status pipeline (`bot.status`) and plugs it in.

Declared as the `slack` entry point of `workday_resync.plugins`; every process that runs jobs or serves
Slack calls `install(rt)` before binding the broker (see `sync_engine.plugins`). The run observer runs
inside the engine, in whichever process changed a run, so it only queues a message; the status actor
does the Slack calls in a worker thread.
"""

from __future__ import annotations

from bot.admins import AdminCheck
from bot.home_publisher import HomePublisher
from bot.home_watchers import history_watchers
from bot.settings import SlackSettings, load_slack_settings
from bot.status.actor import status_actor
from bot.status.pipeline import StatusPipeline
from bot.status.throttle import LocalThrottle, RateBudget, RedisThrottle, Throttle
from bot.status.updater import StatusPolicy
from bot.web_api import build_client
from sync_engine import DramatiqDispatcher, RunService, Runtime, register_actor, shared_redis

__all__ = ["UPDATE_BURST", "install"]

#: Burst of chat.update calls allowed at once before the per-minute budget applies.
UPDATE_BURST = 3


def install(rt: Runtime) -> None:
    """Declare the status actor; with SLACK_BOT_TOKEN set, around this process's one updater, which
    also observes runs and gives worker processes the sweep of final states (`bot.status.final_sweep`)."""
    # The process's settings when its Slack side read them whole (`serve`), else the environment's (a
    # worker, which the engine started with its own settings only).
    settings = rt.settings if isinstance(rt.settings, SlackSettings) else load_slack_settings()
    if settings.slack_bot_token is None:
        register_actor(status_actor(None))
        return
    budget = RateBudget(per_minute=settings.slack_updates_per_minute, burst=UPDATE_BURST)
    connection = shared_redis(rt.settings)
    throttle: Throttle = LocalThrottle(budget) if connection is None else RedisThrottle(connection, budget)
    service = RunService(rt.database, DramatiqDispatcher(), rt.events)
    client = build_client(settings, wait_on_rate_limits=False)
    home = HomePublisher(
        service,
        AdminCheck(client, settings.resync_admin_user_ids, usergroup=settings.resync_admin_usergroup),
        service.connection(rt.settings),
        history_watchers(connection, rt.settings.database_url),
        status_channel=settings.resync_status_channel,
    )
    pipeline = StatusPipeline(
        service, client, throttle, StatusPolicy(min_interval=settings.slack_status_interval), home
    )
    register_actor(pipeline.actor)
    rt.events.subscribe(pipeline.observe)
    rt.worker_tasks.append(pipeline.sweep_task())
