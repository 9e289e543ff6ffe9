"""The Dramatiq actor that brings a run's status message up to date, declared per process around the
updater it is given (never a module-level one): `status_actor(updater)`.

The actor has its own queue and name, so any process may queue an update (`send_update`) and whichever
worker takes it runs it with that worker's updater.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.stub import StubBroker

from bot.status.updater import StatusUpdater
from sync_engine import bind_log_fields

__all__ = ["SLACK_QUEUE", "STATUS_ACTOR", "StatusActor", "send_update", "status_actor"]

log = logging.getLogger(__name__)

#: Status updates have their own queue: they must not wait behind a batch's customer jobs.
SLACK_QUEUE = "workday_resync_slack"
#: The actor's name: what a queued update names, whichever process sent it.
STATUS_ACTOR = "update_slack_status"

StatusActor = dramatiq.Actor[..., None]


def status_actor(updater: StatusUpdater | None) -> StatusActor:
    """The actor for this process, to `register_actor` with the engine (which binds it to the broker).
    Without an updater (no SLACK_BOT_TOKEN here) it still takes the updates queued elsewhere, and says so."""

    def update_slack_status(run_id: int, final: bool = False, trailing: bool = False) -> None:
        """Bring run `run_id`'s Slack status message up to date (see `bot.status.updater`)."""
        bind_log_fields(run_id=run_id)  # Dramatiq's retry and failure events of this job name the run too
        if updater is None:
            log.error(
                "SLACK_BOT_TOKEN is not set on this worker: Slack status not updated",
                extra={"run_id": run_id},
            )
            return
        updater.handle(run_id, final=final, trailing=trailing)

    declare = dramatiq.actor(
        actor_name=STATUS_ACTOR,
        # A placeholder of its own until `register_actor` binds it: a broker holds one actor per name, and
        # every install declares one (tests install into many runtimes of one process).
        broker=StubBroker(),
        queue_name=SLACK_QUEUE,
        # Connection trouble and Slack's 5xx; 429s are rescheduled by the updater itself, without retries.
        max_retries=5,
        min_backoff=1_000,
        max_backoff=30_000,
        time_limit=5 * 60_000,
    )
    actor: StatusActor = declare(update_slack_status)
    return actor


def send_update(run_id: int, final: bool) -> None:
    """Queue an update of the run's status message through this process's broker."""
    dramatiq.get_broker().get_actor(STATUS_ACTOR).send(run_id, final)
