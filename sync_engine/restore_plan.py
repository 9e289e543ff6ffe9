"""What a restore of a run would put back, checked before anything is asked or written.

`plan_restore` reads which customers the run kept a previous copy of and which of them a later run has
overwritten since (refused unless forced); bad input (an unknown run, a customer it kept no copy of, a run
whose copies are gone) is refused with a message naming it, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sync_engine.domain import RunStatus
from sync_engine.errors import ResyncError
from sync_engine.store import previous_copies, runs
from sync_engine.store.database import Database
from sync_engine.store.previous_copies import KeptCustomer

__all__ = ["RestorePlan", "RestoreRefusedError", "plan_restore"]


class RestoreRefusedError(ResyncError):
    """A restore that cannot be done as asked; nothing was changed."""


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """The customers a restore of `source_run_id` puts back, and those it leaves (overwritten since)."""

    source_run_id: int
    to_restore: list[KeptCustomer]
    #: Customers a later run has overwritten since: left as they are (unless `force`).
    overwritten_since: list[KeptCustomer]
    force: bool

    @property
    def kept_until(self) -> datetime | None:
        """When the first of the copies to put back expires."""
        return min((kept.keep_until for kept in self.to_restore), default=None)


def plan_restore(
    database: Database, run_id: int, customers: Sequence[str] = (), *, force: bool = False
) -> RestorePlan:
    """What restoring `run_id` (only `customers`, if given: wid, Customer_ID or reference) would do.

    Raises `RunNotFoundError` for an unknown run, `RestoreRefusedError` for a run still working, one that
    kept no copy (or whose copies expired), or a customer named that it kept no copy of.
    """
    with database.session() as session:
        run = runs.get_run(session, run_id)
        kept = previous_copies.kept_customers(session, run_id)
    if run.status in (RunStatus.DRAFT, RunStatus.CANCELLED):
        raise RestoreRefusedError(f"Run {run_id} was never confirmed: it overwrote nothing.")
    if not run.is_final:
        raise RestoreRefusedError(
            f"Run {run_id} is {run.status.label.lower()}: restore it once it has finished."
        )
    if not kept:
        raise RestoreRefusedError(
            f"Run {run_id} has no previous copies kept: they expired (RESYNC_KEEP_PREVIOUS_DAYS), it kept "
            "none (the setting was 0), or it overwrote no customer."
        )
    if customers:
        kept = _named(run_id, kept, customers)
    later = [customer for customer in kept if not _still_as_run_left_it(customer, run_id)]
    refused = [] if force else later
    return RestorePlan(
        source_run_id=run_id,
        to_restore=[customer for customer in kept if customer not in refused],
        overwritten_since=later,
        force=force,
    )


def _still_as_run_left_it(customer: KeptCustomer, run_id: int) -> bool:
    return customer.stored and customer.stored_by_run_id == run_id


def _named(run_id: int, kept: list[KeptCustomer], customers: Sequence[str]) -> list[KeptCustomer]:
    """The kept customers `customers` names (each by wid, Customer_ID or reference), in kept order."""
    chosen: list[KeptCustomer] = []
    unknown: list[str] = []
    for name in dict.fromkeys(name.strip() for name in customers):
        matches = [
            customer
            for customer in kept
            if name and name in (customer.customer_wid, customer.customer_id, customer.customer_reference_id)
        ]
        if not matches:
            unknown.append(name)
        chosen.extend(match for match in matches if match not in chosen)
    if unknown:
        raise RestoreRefusedError(
            f"Run {run_id} kept no previous copy of: {', '.join(repr(name) for name in unknown)}. "
            "Name customers by Workday ID, Customer_ID or reference, as `workday-resync records` lists them."
        )
    return [customer for customer in kept if customer in chosen]
