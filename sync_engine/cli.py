"""`workday-resync`: run batch syncs from a terminal, read history, run workers, the sandbox, the demo."""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sync_engine import jobs
from sync_engine.errors import ResyncError
from sync_engine.identifiers import parse_identifiers
from sync_engine.logs import configure_logging
from sync_engine.progress import RunEvent
from sync_engine.records import BatchRun, IdentifierType, RunStatus
from sync_engine.runtime import Runtime, configure
from sync_engine.service import RunService
from sync_engine.settings import Settings, load_settings
from sync_engine.store.database import Database
from sync_engine.worker import EmbeddedWorker, build_broker

__all__ = ["app", "main"]

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
# Piped output is not cut to 80 columns: history tables and errors stay whole in logs and files.
console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True)

#: The warning an admin confirms before a run (same words as in Slack).
WARNING = (
    "This re-imports and overwrites {n} customers and all their invoices, payments and credit notes. "
    "This cannot be undone."
)


class CliIdentifierType(StrEnum):
    SOURCE_ID = "source-id"
    REFERENCE = "reference"

    @property
    def engine(self) -> IdentifierType:
        return IdentifierType.SOURCE_ID if self is CliIdentifierType.SOURCE_ID else IdentifierType.REFERENCE


@contextmanager
def _engine(settings: Settings, *, work: bool) -> Iterator[tuple[RunService, Runtime]]:
    """The run service on a migrated store; with `work` and no Redis, an embedded worker runs too."""
    database = Database(settings.database_url)
    database.migrate()
    rt = configure(Runtime(settings, database))
    broker = build_broker(rt)
    service = RunService(database, jobs.DramatiqDispatcher(), rt.events)
    try:
        if work and not settings.redis_url:
            with EmbeddedWorker(rt, broker, threads=settings.worker_threads):
                yield service, rt
        else:
            yield service, rt
    finally:
        rt.close()


@app.command()
def sync(
    identifier_type: Annotated[
        CliIdentifierType,
        typer.Option("--type", help="How the customers are named: Workday ID or customer number."),
    ],
    identifiers: Annotated[list[str] | None, typer.Argument(help="Identifiers (or use --file).")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A file of identifiers, one per line ('-' = stdin).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Re-import customers with all their invoices, payments and credit notes, overwriting the store."""
    text = "\n".join(identifiers or [])
    if file is not None:
        text += "\n" + (sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8"))
    settings = load_settings()
    settings.workday()  # fail now, in one line, if Workday is not configured
    clean = parse_identifiers(text, identifier_type.engine)
    console.print(f"{len(clean)} customers selected.")
    if not yes and not typer.confirm(WARNING.format(n=len(clean)) + " Continue?", default=False):
        raise typer.Exit(1)
    with _engine(settings, work=True) as (service, rt):
        run = service.submit(identifier_type.engine, clean, requested_by=f"cli:{getpass.getuser()}")
        final = _follow(service, rt, run.id)
    _print_outcome(final)
    raise typer.Exit(0 if final.status is RunStatus.COMPLETED else 1)


@app.command()
def history(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many runs to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON objects instead of a table.")] = False,
) -> None:
    """Past runs, most recent first."""
    with _engine(load_settings(), work=False) as (service, _):
        runs = service.history(limit=limit)
    if as_json:
        sys.stdout.write(json.dumps([_run_json(run) for run in runs], indent=2) + "\n")
    else:
        console.print(_history_table(runs))


@app.command()
def records(run_id: Annotated[int, typer.Argument(help="The run's number.")]) -> None:
    """The run's exact identifier list, one per line (the records file of its Slack thread)."""
    with _engine(load_settings(), work=False) as (service, _):
        sys.stdout.write(service.records_text(run_id))


@app.command()
def migrate() -> None:
    """Bring the store's schema up to date (also done on every start)."""
    settings = load_settings()
    Database(settings.database_url).migrate()
    console.print("The store's schema is up to date.")


@app.command()
def worker(
    processes: Annotated[int, typer.Option(min=1, help="Worker processes on this host.")] = 2,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Threads per process (default WORKER_THREADS).")
    ] = None,
) -> None:
    """Run Dramatiq workers on this host (needs REDIS_URL; run as many hosts as you like)."""
    settings = load_settings()
    if not settings.redis_url:
        raise ResyncError(
            "REDIS_URL is not set: without Redis, jobs run inside the `sync` or `serve` process itself."
        )
    settings.workday()
    Database(settings.database_url).migrate()
    argv = [
        sys.executable, "-m", "dramatiq", "sync_engine.worker_process",
        "--processes", str(processes),
        "--threads", str(threads or settings.worker_threads),
        "--queues", jobs.QUEUE,
    ]  # fmt: skip
    os.execv(sys.executable, argv)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8089,
    customers: Annotated[int, typer.Option(min=1, help="Customers in the data set.")] = 120,
    seed: Annotated[int, typer.Option(help="Seed of the data set.")] = 42,
    latency: Annotated[float, typer.Option(min=0, help="Seconds added to every response.")] = 0.0,
) -> None:
    """Serve the built-in Workday sandbox (prints the WORKDAY_* settings that point at it)."""
    from sync_engine.workday.sandbox import serve

    serve(port=port, customers=customers, seed=seed, latency=latency)


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=1, max=100, help="Customers in the demo batch.")] = 25,
) -> None:
    """Run a batch against the built-in Workday sandbox on the embedded defaults, then show history."""
    from sync_engine.demo import run_demo

    ok = run_demo(console, batch_size=customers, follow=_follow, history_table=_history_table)
    raise typer.Exit(0 if ok else 1)


def _follow(service: RunService, rt: Runtime, run_id: int) -> BatchRun:
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
                    counts=_counts_text(run),
                )
                if run.is_final:
                    return run
                # Woken at once by events of this process; the poll covers workers in other processes.
                changed.wait(0.5)
                changed.clear()
    finally:
        unsubscribe()


def _counts_text(run: BatchRun) -> str:
    counts = run.counts
    return (
        f"Customers {counts.customers} · Invoices {counts.invoices} · "
        f"Payments {counts.payments} · Credit notes {counts.credit_notes}"
    )


def _print_outcome(run: BatchRun) -> None:
    duration = f" in {run.duration_seconds:.1f} s" if run.duration_seconds is not None else ""
    colour = "green" if run.status is RunStatus.COMPLETED else "red"
    console.print(f"[{colour}]Run {run.id}: {run.status.label}{duration}.[/] {_counts_text(run)}")
    if run.unresolved:
        console.print(
            f"[yellow]Not found on Workday ({len(run.unresolved)}):[/] {escape(', '.join(run.unresolved))}"
        )
    if run.error:
        console.print(run.error, style="red", markup=False, highlight=False)


def _history_table(runs: list[BatchRun]) -> Table:
    table = Table(title="Batch synchronizations", box=box.SIMPLE_HEAD)
    for header in ("Run", "Created (UTC)", "Status", "Type", "Customers", "Invoices", "Payments"):
        table.add_column(header, no_wrap=True)
    table.add_column("Credit notes", no_wrap=True)
    table.add_column("Requested by")
    errors = any(run.error for run in runs)
    if errors:
        table.add_column("Error", overflow="fold")
    for run in runs:
        row = [
            str(run.id),
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


def _run_json(run: BatchRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "created_at": run.created_at.isoformat(),
        "status": run.status.value,
        "identifier_type": run.identifier_type.value,
        "identifiers": run.identifiers,
        "requested_by": run.requested_by,
        "counts": {
            "customers": run.counts.customers,
            "invoices": run.counts.invoices,
            "payments": run.counts.payments,
            "credit_notes": run.counts.credit_notes,
        },
        "error": run.error,
        "unresolved": run.unresolved,
    }


def main() -> None:
    """Console entry point: errors we expect end in one line, not a traceback."""
    configure_logging(logging.WARNING)
    try:
        app()
    except ResyncError as error:
        errors.print(f"Error: {error}", style="red", markup=False, highlight=False)
        raise SystemExit(2) from None
