"""Brings a finished run's final state to Slack when the update that should have shown it was lost.

The final `update_slack_status` message lives in one worker's hands: SIGKILLed before or while it
delivers, the message comes back only when Dramatiq's Redis broker requeues that dead worker's messages
(a 15 s heartbeat timeout, often more), or, with the embedded worker, never until `serve` starts again.
So every worker process with Slack settings sweeps every second (`bot.status.pipeline` adds it to the
worker's tasks): runs finished more than `grace` ago whose final state is not shown yet (their
announcement has no final digest, see `bot.status.updater`) get their final update delivered from the
sweeping process, through `StatusUpdater.handle`, so under the per-run lock like any other update.

Cheap and quiet: one process sweeps per round service-wide (a claim), with one bounded query; each run
is tried at most once per `retry_every(age)` service-wide (2 s at first, backing off to a minute for a
message Slack keeps refusing), and only for `window` after its end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.status.throttle import Throttle
from bot.status.updater import StatusUpdater
from sync_engine import AnnouncementService, utcnow

__all__ = ["FinalStateSweep", "SweepPolicy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SweepPolicy:
    #: How often each worker process looks (one of them does, per round).
    every: float = 1.0
    #: How long after a run's end its own final update has to show it before the sweep steps in.
    grace: float = 2.0
    #: Runs that ended longer ago are left alone (`serve`'s catch-up handles older ones at start).
    window: float = 10 * 60.0
    #: Runs looked at per round, oldest first.
    limit: int = 20
    #: Seconds between two sweeps of one run: `min_retry` at first, then a quarter of its age.
    min_retry: float = 2.0
    max_retry: float = 60.0

    def retry_every(self, age: float) -> float:
        return min(self.max_retry, max(self.min_retry, age / 4))


class FinalStateSweep:
    def __init__(
        self,
        announcements: AnnouncementService,
        updater: StatusUpdater,
        throttle: Throttle,
        policy: SweepPolicy | None = None,
    ) -> None:
        self._announcements = announcements
        self._updater = updater
        self._throttle = throttle
        self.policy = policy or SweepPolicy()

    def sweep(self) -> None:
        """One round: deliver the final state of runs that should show it by now and do not."""
        policy = self.policy
        # Slightly shorter than a round, so that a process sweeping alone wins each of its rounds.
        if not self._throttle.claim("final-sweep", policy.every * 0.8):
            return
        now = utcnow()
        behind = self._announcements.finished_not_shown(
            finished_after=now - timedelta(seconds=policy.window),
            finished_before=now - timedelta(seconds=policy.grace),
            limit=policy.limit,
        )
        for run_id, finished_at in behind:
            age = (now - finished_at).total_seconds()
            if not self._throttle.claim(f"final-sweep:{run_id}", policy.retry_every(age)):
                continue
            log.warning(
                "Final Slack status not shown yet; the sweep delivers it",
                extra={"run_id": run_id, "finished_seconds_ago": round(age, 1)},
            )
            try:
                self._updater.handle(run_id, final=True)
            except Exception:
                # Slack or the store failing for this run must not keep the others waiting.
                log.warning("Final status sweep failed", extra={"run_id": run_id}, exc_info=True)
