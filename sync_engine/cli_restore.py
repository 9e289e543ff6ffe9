"""`workday-resync restore`: put back the previous copies a run kept (an operator's action, terminal only)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console

from sync_engine.cli_input import ReasonOption
from sync_engine.domain import RunStatus
from sync_engine.following import follow_here
from sync_engine.restore_plan import RestorePlan, RestoreRefusedError, plan_restore
from sync_engine.run_reason import clean_reason
from sync_engine.runtime import Runtime
from sync_engine.service import RunService
from sync_engine.settings import load_settings
from sync_engine.startup import open_engine
from sync_engine.store.previous_copies import KeptCustomer

__all__ = ["CONFIRMATION", "register", "restore"]

console = Console(width=None if sys.stdout.isatty() else 160)

#: What the operator confirms (`{n}` customers, `{run}` the run restored).
CONFIRMATION = (
    "This puts back {n} customers and all their invoices, payments and credit notes as they were before "
    "run {run} overwrote them, overwriting what the store holds for them now (which this restore keeps in "
    "turn, so it can be restored)."
)


def restore(
    run_id: Annotated[int, typer.Argument(help="The run whose previous copies to put back.")],
    customers: Annotated[
        list[str] | None,
        typer.Option(
            "--customer", "-c", help="Only this customer (Workday ID, Customer_ID or reference); repeat."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Also put back customers a later run has overwritten since.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    requester: Annotated[
        str | None, typer.Option("--as", help="Who asks, for history (default: your login name).")
    ] = None,
    reason: ReasonOption = None,
) -> None:
    """Put back the customers a run overwrote, as they were before it (each customer atomically).

    Customers a later run has overwritten since are left as they are and listed, unless --force. Exit
    status 0 when every customer asked for was restored, 1 otherwise.
    """
    settings = load_settings()
    reason = clean_reason(reason, required=settings.resync_require_reason)  # before asking anything
    with open_engine(settings, work=False) as (_, rt):
        plan = plan_restore(rt.database, run_id, customers or [], force=force)
    _print_plan(plan)
    if not plan.to_restore:
        raise RestoreRefusedError(
            f"Nothing restored: every customer asked for was overwritten by a later run since run {run_id}. "
            "Use --force to put them back anyway."
        )
    question = CONFIRMATION.format(n=len(plan.to_restore), run=run_id) + " Continue?"
    if not yes and not typer.confirm(question, default=False):
        raise typer.Exit(1)
    who = requester or getpass.getuser()

    def start(service: RunService, _rt: Runtime) -> int:
        run = service.submit_restore(plan, requested_by=f"cli:{who}", reason=reason)
        console.print(f"Restore run {run.id} puts back run {run_id}'s previous copies.")
        return run.id

    final = follow_here(console, settings, start)
    refused = bool(plan.overwritten_since) and not plan.force
    raise typer.Exit(0 if final.status is RunStatus.COMPLETED and not refused else 1)


def _print_plan(plan: RestorePlan) -> None:
    if plan.overwritten_since and not plan.force:
        console.print(
            f"[yellow]Overwritten since run {plan.source_run_id} by a later run, left as they are "
            f"({len(plan.overwritten_since)}; --force restores them too):[/]"
        )
        for customer in plan.overwritten_since:
            console.print(f"  {_describe(customer)}", markup=False, highlight=False)
    if plan.to_restore:
        until = plan.kept_until
        kept = f", kept until {until:%Y-%m-%d %H:%M} UTC" if until else ""
        console.print(f"{len(plan.to_restore)} customers to restore{kept}:")
        for customer in plan.to_restore:
            console.print(f"  {_describe(customer)}", markup=False, highlight=False)


def _describe(customer: KeptCustomer) -> str:
    if not customer.stored:
        holder = "not stored now"
    elif customer.stored_by_run_id is None:
        holder = "written without a run"
    else:
        holder = f"as run {customer.stored_by_run_id} wrote it"
    name = f" {customer.name}" if customer.name else ""
    return f"{customer.label}{name} ({customer.customer_wid}; {holder})"


def register(app: typer.Typer) -> None:
    """Add `restore` to the `workday-resync` command group."""
    app.command()(restore)
