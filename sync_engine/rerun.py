"""Re-running what failed: the identifiers a new sync run takes from a finished run, checked before
anything is asked or stored.

A re-run names exactly the customers of run M that failed or that Workday did not know, as the admin
typed them (M's identifier type, M's spelling and order, each once); the new run is an ordinary sync that
records "re-run of #M" (`batch_runs.source_run_id`, kind sync). Bad input (an unknown run, one still
working, one with nothing failed or unresolved, a run of another kind) is refused with a message naming
the run, and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync_engine.domain import IdentifierType, RunKind, RunStatus
from sync_engine.errors import ResyncError
from sync_engine.store import runs
from sync_engine.store.database import Database

__all__ = ["RerunPlan", "RerunRefusedError", "plan_rerun"]


class RerunRefusedError(ResyncError):
    """A re-run that cannot be done as asked; nothing was changed."""


@dataclass(frozen=True, slots=True)
class RerunPlan:
    """What a re-run of `source_run_id` syncs: its failed and unresolved customers, as they were typed."""

    source_run_id: int
    identifier_type: IdentifierType
    identifiers: list[str]


def plan_rerun(database: Database, run_id: int) -> RerunPlan:
    """What re-running `run_id` would sync; `RunNotFoundError` for an unknown run, `RerunRefusedError`
    for a run never confirmed or still working, a run that is not a sync, or one with nothing to re-run."""
    with database.session() as session:
        run = runs.get_run(session, run_id)
    if run.status in (RunStatus.DRAFT, RunStatus.CANCELLED):
        raise RerunRefusedError(f"Run {run_id} was never confirmed: there is nothing to re-run.")
    if not run.is_final:
        raise RerunRefusedError(
            f"Run {run_id} has not finished ({run.status.label.lower()}): re-run what failed once it has."
        )
    if run.kind is not RunKind.SYNC:
        raise RerunRefusedError(
            f"Run {run_id} is a {run.kind.value}: only a sync run's failed customers can be re-run."
        )
    identifiers = run.rerun_identifiers
    if not identifiers:
        raise RerunRefusedError(
            f"Run {run_id} has no failed or unresolved customers: there is nothing to re-run."
        )
    return RerunPlan(run_id, run.identifier_type, identifiers)
