"""An admin stops a run (Slack's Stop button, `workday-resync stop`): the customers not yet started are
skipped, those being written finish, and the run ends Stopped with what it wrote counted.

The store does it in one transaction (`store.stops`); here the run that ended is reported like any run
that ends (metrics, the "Run finished" event, the front ends' run events), and the outcome is worded
once for every front end, so Slack and the CLI say the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sync_engine.clock import utcnow
from sync_engine.domain import BatchRun, RunStatus
from sync_engine.progress import RunEvents
from sync_engine.store import runs, stops
from sync_engine.store.database import Database
from sync_engine.sync import report_finished

__all__ = ["stop_outcome", "stop_run"]

log = logging.getLogger(__name__)


def stop_run(database: Database, events: RunEvents, run_id: int, stopped_by: str) -> tuple[BatchRun, bool]:
    """Stop the run for `stopped_by`; the run as it is now, and whether this call stopped it (a second
    call, a double click or a run already final changes nothing). `RunNotFoundError` if there is none."""
    with database.session() as session:
        result = stops.stop_run(session, run_id, stopped_by, utcnow())
    if result is not stops.StopResult.NOT_RUNNING:
        report_finished(database, events, run_id)
    with database.session() as session:
        run = runs.get_run(session, run_id)
    if result is stops.StopResult.STOPPED:
        log.info(
            "Run stopped by an admin",
            extra={
                "run_id": run_id,
                "stopped_by": stopped_by,
                "customers": run.counts.customers,
                "skipped": len(run.skipped),
            },
        )
    return run, result is stops.StopResult.STOPPED


def stop_outcome(run: BatchRun, stopped: bool, *, who: Callable[[str], str] = str) -> str:
    """What the admin who asked for the stop is told; `who` renders the stopper (Slack: a mention). The
    rest is fixed text, numbers and status labels: nothing to escape."""
    if stopped:
        return (
            f"Run {run.id} stopped: {run.counts.customers} customers written and kept, "
            f"{len(run.skipped)} skipped (not started)."
        )
    if run.status is RunStatus.STOPPED:
        return f"Run {run.id} was already stopped by {who(run.stopped_by or '')}: nothing changed."
    if run.is_final:
        return f"Run {run.id} has already ended ({run.status.label}): nothing to stop."
    return f"Run {run.id} is not running ({run.status.label}): nothing to stop."
