"""Finds runs whose messages were lost (a worker killed, Redis restarted) and sends their work again.

Every process that works runs this at boot and then periodically. Lost work shows in the store: an
unfinished run whose items are neither leased by a live worker nor sent recently, while the queue stands
still (no item claimed for a while, none being worked on). Sending an item twice is harmless (the second
delivery finds it synced or held); the conditional updates in the store make each resend happen once
across all processes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sync_engine.clock import utcnow
from sync_engine.domain import RunStatus
from sync_engine.progress import RunEvent, RunEventKind
from sync_engine.repeating_task import Periodic
from sync_engine.runtime import Runtime
from sync_engine.service import Dispatcher
from sync_engine.store import items, runs
from sync_engine.sync import finish_if_done, plan_groups

__all__ = ["ResumeReport", "Sweeper", "resume_runs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ResumeReport:
    runs_restarted: int
    items_resent: int


def resume_runs(
    rt: Runtime, dispatcher: Dispatcher, *, quiet_for: timedelta, only: int | None = None
) -> ResumeReport:
    """Resend the work of unfinished runs (or of run `only`) that nothing has touched for `quiet_for`.

    `quiet_for` zero means "everything in flight was lost" (the embedded worker starting up, or
    `workday-resync resume RUN_ID` in a process of its own).
    """
    now = utcnow()
    threshold = now - quiet_for
    restarted = resent = 0
    with rt.database.session() as session:
        run_ids = [run_id for run_id in runs.unfinished_runs(session) if only in (None, run_id)]
        # Queued items wait their turn while workers get through the queue; at boot (quiet_for zero)
        # nothing in flight survived.
        moving = bool(quiet_for) and items.queue_moving(session, since=threshold, now=now)
    for run_id in run_ids:
        with rt.database.session() as session:
            run = runs.get_run(session, run_id)
            needs_start = run.status is RunStatus.RECEIVED or bool(items.items_to_resolve(session, run_id))
            restart = needs_start and runs.claim_run_restart(session, run_id, now, untouched_since=threshold)
            item_ids = items.claim_items_to_enqueue(
                session, run_id, now, enqueued_before=threshold, queue_moving=moving
            )
        if restart:
            dispatcher.start_run(run_id)
            restarted += 1
        for group in plan_groups(rt, item_ids) if item_ids else []:
            dispatcher.sync_customers(group)
        resent += len(item_ids)
        if restart or item_ids:
            # Recovery working as designed: front ends announce it in their own words (RESUMED).
            log.info(
                "Resumed an interrupted run",
                extra={"run_id": run_id, "restarted": restart, "items_resent": len(item_ids)},
            )
            rt.events.publish(RunEvent(run_id, RunEventKind.RESUMED))
        finish_if_done(rt, run_id)
    return ResumeReport(restarted, resent)


class Sweeper:
    """Runs `resume_runs` at once and then every `every`, until stopped.

    The first round treats work quiet for `at_boot` as lost, later rounds work quiet for `quiet_for`.
    """

    def __init__(
        self,
        rt: Runtime,
        dispatcher: Dispatcher,
        *,
        every: timedelta,
        quiet_for: timedelta,
        at_boot: timedelta,
    ) -> None:
        self._rt = rt
        self._dispatcher = dispatcher
        self._quiet_for = quiet_for
        self._next_quiet_for = at_boot
        self._periodic = Periodic("run-sweeper", self.sweep, every=every, immediately=True)

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def sweep(self) -> None:
        quiet_for, self._next_quiet_for = self._next_quiet_for, self._quiet_for
        resume_runs(self._rt, self._dispatcher, quiet_for=quiet_for)
