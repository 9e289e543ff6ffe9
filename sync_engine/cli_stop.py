"""`workday-resync stop`: an admin stops a run from the terminal, as Slack's Stop button does."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console

from sync_engine.settings import load_settings
from sync_engine.startup import open_engine
from sync_engine.stopping import stop_outcome
from sync_engine.terminal import counts_text, print_outcome

__all__ = ["CONFIRMATION", "register", "stop"]

console = Console(width=None if sys.stdout.isatty() else 160)

#: What the operator confirms (`{run}` the run, `{waiting}` its customers not written yet).
CONFIRMATION = (
    "Stop run {run}? Its customers not started yet are skipped (left as the store holds them); those "
    "being written now finish. What it wrote stays written. {waiting} customers are not written yet."
)


def stop(
    run_id: Annotated[int, typer.Argument(help="The run's number.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    requester: Annotated[
        str | None, typer.Option("--as", help="Who stops it, for history (default: your login name).")
    ] = None,
) -> None:
    """Stop a received or in-progress run: customers not started yet are skipped, those being written
    finish, and the run ends Stopped with what it wrote counted. Exit status 0 if this stopped it, 1 if
    there was nothing to stop (already ended or stopped)."""
    with open_engine(load_settings(), work=False) as (service, _):
        run = service.get(run_id)
        if run.is_final:
            console.print(stop_outcome(run, False), style="yellow", markup=False, highlight=False)
            raise typer.Exit(1)
        console.print(f"Run {run.id} · {run.status.label} · {counts_text(run)}", highlight=False)
        waiting = len(run.identifiers) - len(run.unresolved) - run.counts.customers - len(run.failed)
        question = CONFIRMATION.format(run=run.id, waiting=waiting)
        if not yes and not typer.confirm(question, default=False):
            raise typer.Exit(1)
        run, stopped = service.stop(run_id, f"cli:{requester or getpass.getuser()}")
    console.print(
        stop_outcome(run, stopped), style=None if stopped else "yellow", markup=False, highlight=False
    )
    print_outcome(console, run)
    raise typer.Exit(0 if stopped else 1)


def register(app: typer.Typer) -> None:
    """Add `stop` to the `workday-resync` command group."""
    app.command()(stop)
