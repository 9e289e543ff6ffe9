"""This process's status pipeline, built once at plugin install (`bot.plugin`) and passed to its
parts: one updater, the actor that runs it, the run observer that queues it, and the sweep of final
states a dead worker took with it. With a `HomePublisher`, each update also re-publishes the Home tabs
that have History open."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from slack_sdk import WebClient

from bot.home_publisher import HomePublisher
from bot.status.actor import status_actor
from bot.status.final_sweep import FinalStateSweep
from bot.status.throttle import Throttle
from bot.status.updater import StatusPolicy, StatusUpdater
from sync_engine import Periodic, RunEvent, RunEventKind, RunService

__all__ = ["StatusPipeline"]

log = logging.getLogger(__name__)


class StatusPipeline:
    def __init__(
        self,
        service: RunService,
        client: WebClient,
        throttle: Throttle,
        policy: StatusPolicy,
        home: HomePublisher | None = None,
    ) -> None:
        follow = None if home is None else partial(home.follow, client, throttle.claim)
        self.updater = StatusUpdater(service, client, throttle, self._schedule, policy, follow=follow)
        self.actor = status_actor(self.updater)
        self.sweep = FinalStateSweep(service.announcements(), self.updater, throttle)

    def observe(self, event: RunEvent) -> None:
        """A run changed (in whichever process changed it): queue an update; quick, never raises."""
        try:
            self.actor.send(event.run_id, event.kind is RunEventKind.FINISHED)
        except Exception:
            # The broker is down: the run goes on; the next event (or the final one) brings Slack up to date.
            log.warning(
                "Could not queue a Slack status update", extra={"run_id": event.run_id}, exc_info=True
            )

    def sweep_task(self) -> Periodic:
        """The final-state sweep as a worker task (started with each worker process)."""
        return Periodic(
            "slack-final-sweep",
            self.sweep.sweep,
            every=timedelta(seconds=self.sweep.policy.every),
            immediately=True,
        )

    def _schedule(self, run_id: int, final: bool, delay: float) -> None:
        self.actor.send_with_options(
            args=(run_id,), kwargs={"final": final, "trailing": True}, delay=int(delay * 1000)
        )
