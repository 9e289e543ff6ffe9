"""Rich rendering for the terminal: the live progress of a run, its outcome, the history table."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from rich import box
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sync_engine.approval import approval_summary
from sync_engine.connection_status import ConnectionStatus
from sync_engine.domain import BatchRun, IdentifierType, RunStatus
from sync_engine.identifiers import looks_like_wid
from sync_engine.progress import RunEvent
from sync_engine.runtime import Runtime
from sync_engine.service import RunService

__all__ = [
    "WID_HINT",
    "counts_text",
    "customers_to_sync",
    "duration_text",
    "follow_run",
    "print_connection",
    "print_history",
    "print_outcome",
    "selected",
]

#: Shown when identifiers given as references all look like Workday IDs (the reverse is an error).
WID_HINT = (
    "These look like Workday IDs (32 hexadecimal characters): if they are, use --type source-id instead."
)


class _RunProgress(Progress):
    """The bar, its n/N and time on one line, the four counts on the next: at 80 columns nothing is cut."""

    counts = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        yield Text(self.counts, overflow="fold")


def follow_run(
    console: Console, service: RunService, rt: Runtime, run_id: int, *, tick: Callable[[], None] | None = None
) -> BatchRun:
    """Show a live progress bar with the four counts until the run is final; `tick` runs between updates."""
    changed = threading.Event()

    def wake(event: RunEvent) -> None:
        if event.run_id == run_id:
            changed.set()

    unsubscribe = rt.events.subscribe(wake)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with _RunProgress(*columns, console=console, transient=False) as progress:
            run = service.get(run_id)
            task = progress.add_task(f"Run {run_id}", total=customers_to_sync(run))
            while True:
                run = service.get(run_id)
                progress.counts = counts_text(run)
                progress.update(
                    task,
                    description=f"Run {run_id} · {run.status.label}",
                    total=customers_to_sync(run),
                    completed=run.counts.customers + len(run.failed),
                )
                if run.is_final:
                    return run
                if tick is not None:
                    tick()
                # Woken at once by events of this process; the poll covers workers in other processes.
                changed.wait(0.5)
                changed.clear()
    finally:
        unsubscribe()


def customers_to_sync(run: BatchRun) -> int:
    """The identifiers less those Workday did not know: known from the start, not only once resolved."""
    return max(len(run.identifiers) - len(run.unresolved), 0)


def selected(count: int) -> str:
    return f"{count} customer{'' if count == 1 else 's'} selected."


def counts_text(run: BatchRun) -> str:
    counts = run.counts
    return (
        f"Customers {counts.customers} · Invoices {counts.invoices} · "
        f"Payments {counts.payments} · Credit notes {counts.credit_notes}"
    )


def duration_text(run: BatchRun) -> str:
    """ "12.3 s", "4 min 05 s", or "–" for a run not finished."""
    seconds = run.duration_seconds
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def print_outcome(console: Console, run: BatchRun) -> None:
    duration = f" in {duration_text(run)}" if run.duration_seconds is not None else ""
    colour = {RunStatus.COMPLETED: "green", RunStatus.STOPPED: "yellow"}.get(run.status, "red")
    console.print(f"[{colour}]Run {run.id}: {run.status.label}{duration}.[/] {counts_text(run)}")
    if run.stopped_by:
        skipped = f"skipped ({len(run.skipped)}): {', '.join(run.skipped)}"
        console.print(f"[yellow]Stopped by {escape(run.stopped_by)};[/] {escape(skipped)}", highlight=False)
    if run.unresolved:
        console.print(
            f"[yellow]Not found on Workday ({len(run.unresolved)}):[/] {escape(', '.join(run.unresolved))}"
        )
        if run.identifier_type is IdentifierType.REFERENCE and all(map(looks_like_wid, run.unresolved)):
            console.print(WID_HINT)
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


#: Narrower terminals get each run as two lines instead of the table, whose figures would be cut.
HISTORY_TABLE_WIDTH = 150  # the table's width with a run kind such as "Restore of #42"


def print_history(console: Console, runs: list[BatchRun]) -> None:
    """The history: a table on a wide terminal (or off one), two lines a run on a narrow one; each run's
    error in full below."""
    if console.width >= HISTORY_TABLE_WIDTH:
        console.print(_history_table(runs))
    else:
        console.print("[bold]Batch synchronizations[/]")
        for run in runs:
            console.print(
                f"[bold]#{run.id}[/]  {run.created_at:%Y-%m-%d %H:%M} UTC  {run.status.label}  "
                f"{duration_text(run)}  {_run_kind(run)}  {_kind(run)}  by {escape(run.requested_by)}"
            )
            console.print(f"    {counts_text(run)} · Not found {len(run.unresolved)}", highlight=False)
    for run in runs:
        if run.reason:
            console.print(f"[bold]Run {run.id} reason:[/] {escape(run.reason)}", highlight=False)
        if approval := approval_summary(run):
            console.print(f"[bold]Run {run.id}:[/] {escape(approval)}", highlight=False)
        if run.error:
            console.print(f"[bold red]Run {run.id}:[/] {escape(run.error)}")


def _kind(run: BatchRun) -> str:
    return "Source ID" if run.identifier_type is IdentifierType.SOURCE_ID else "Reference"


def _run_kind(run: BatchRun) -> str:
    """The run's kind as history shows it: "Sync", or what it works from: "Restore of #42", "Re-run of #7"."""
    if run.rerun_of is not None:
        return f"Re-run of #{run.rerun_of}"
    return run.kind.label + (f" of #{run.source_run_id}" if run.source_run_id is not None else "")


def _history_table(runs: list[BatchRun]) -> Table:
    table = Table(title="Batch synchronizations", box=box.SIMPLE_HEAD)
    headers = ("Run", "Created (UTC)", "Status", "Duration", "Type", "Customers", "Invoices", "Payments")
    for header in (*headers, "Credit notes", "Not found", "Requested by", "Kind"):
        table.add_column(header, no_wrap=True)
    for run in runs:
        table.add_row(
            str(run.id),
            run.created_at.strftime("%Y-%m-%d %H:%M"),
            run.status.label,
            duration_text(run),
            _kind(run),
            str(run.counts.customers),
            str(run.counts.invoices),
            str(run.counts.payments),
            str(run.counts.credit_notes),
            str(len(run.unresolved)),
            escape(run.requested_by),
            _run_kind(run),
        )
    return table
