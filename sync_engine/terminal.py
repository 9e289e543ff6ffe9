"""Rich rendering for the terminal: the live progress of a run, its outcome, the history table."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sync_engine.connection_status import ConnectionStatus
from sync_engine.domain import BatchRun, IdentifierType, RunStatus
from sync_engine.progress import RunEvent
from sync_engine.runtime import Runtime
from sync_engine.service import RunService

__all__ = ["counts_text", "follow_run", "history_table", "print_connection", "print_outcome"]


def follow_run(console: Console, service: RunService, rt: Runtime, run_id: int) -> BatchRun:
    """Show a live progress bar with the four counts until the run is final."""
    changed = threading.Event()

    def wake(event: RunEvent) -> None:
        if event.run_id == run_id:
            changed.set()

    unsubscribe = rt.events.subscribe(wake)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            run = service.get(run_id)
            task = progress.add_task(f"Run {run_id}", total=len(run.identifiers), counts="")
            while True:
                run = service.get(run_id)
                total = run.resolved if run.status is not RunStatus.RECEIVED else len(run.identifiers)
                progress.update(
                    task,
                    description=f"Run {run_id} · {run.status.label}",
                    total=max(total, 1),
                    completed=run.counts.customers + len(run.failed),
                    counts=counts_text(run),
                )
                if run.is_final:
                    return run
                # Woken at once by events of this process; the poll covers workers in other processes.
                changed.wait(0.5)
                changed.clear()
    finally:
        unsubscribe()


def counts_text(run: BatchRun) -> str:
    counts = run.counts
    return (
        f"Customers {counts.customers} · Invoices {counts.invoices} · "
        f"Payments {counts.payments} · Credit notes {counts.credit_notes}"
    )


def print_outcome(console: Console, run: BatchRun) -> None:
    duration = f" in {run.duration_seconds:.1f} s" if run.duration_seconds is not None else ""
    colour = "green" if run.status is RunStatus.COMPLETED else "red"
    console.print(f"[{colour}]Run {run.id}: {run.status.label}{duration}.[/] {counts_text(run)}")
    if run.unresolved:
        console.print(
            f"[yellow]Not found on Workday ({len(run.unresolved)}):[/] {escape(', '.join(run.unresolved))}"
        )
    if run.error:
        console.print(run.error, style="red", markup=False, highlight=False)


def print_connection(console: Console, status: ConnectionStatus) -> None:
    """Connected (green) or the reason it is not (red), then tenant, version, last verified, last run."""
    if status.connected:
        console.print("[bold green]● Connected[/] to Workday")
    else:
        console.print("[bold red]● Not connected[/] to Workday")
        console.print(status.reason or "", style="red", markup=False, highlight=False)
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("Tenant", escape(status.tenant or "(not set)"))
    table.add_row("API version", escape(status.api_version))
    table.add_row("Last verified", _when(status.verified_at) if status.verified_at else "never")
    run = status.last_run
    if run is None:
        table.add_row("Last run", "none yet")
    else:
        outcome = f"#{run.id} {run.status.label}, {_when(run.created_at)} · {counts_text(run)}"
        if run.error:
            outcome += f"\n{escape(run.error.splitlines()[0])}"
        table.add_row("Last run", outcome)
    console.print(table)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def history_table(runs: list[BatchRun]) -> Table:
    table = Table(title="Batch synchronizations", box=box.SIMPLE_HEAD)
    for header in ("Run", "Kind", "Created (UTC)", "Status", "Type", "Customers", "Invoices", "Payments"):
        table.add_column(header, no_wrap=True)
    table.add_column("Credit notes", no_wrap=True)
    table.add_column("Requested by")
    errors = any(run.error for run in runs)
    if errors:
        table.add_column("Error", overflow="fold")
    for run in runs:
        row = [
            str(run.id),
            _kind(run),
            run.created_at.strftime("%Y-%m-%d %H:%M"),
            run.status.label,
            "Source ID" if run.identifier_type is IdentifierType.SOURCE_ID else "Reference",
            str(run.counts.customers),
            str(run.counts.invoices),
            str(run.counts.payments),
            str(run.counts.credit_notes),
            escape(run.requested_by),
        ]
        table.add_row(*row, *([escape(run.error or "")] if errors else []))
    return table


def _kind(run: BatchRun) -> str:
    """ "Sync", or what the run works from: "Restore of #42"."""
    return run.kind.label + (f" of #{run.source_run_id}" if run.source_run_id is not None else "")
