"""`workday-resync results RUN_ID [--csv]`: what a run did for each customer (the results file of its
Slack thread)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sync_engine.results import CSV_HEADER, CustomerResult, results_csv
from sync_engine.settings import load_settings
from sync_engine.startup import open_engine

__all__ = ["register", "results"]

console = Console(width=None if sys.stdout.isatty() else 160)

#: Colour of each outcome in the table (others plain).
_OUTCOME_STYLES = {"unresolved": "yellow", "failed": "red"}


def results(
    run_id: Annotated[int, typer.Argument(help="The run's number.")],
    as_csv: Annotated[
        bool, typer.Option("--csv", help="CSV (the Slack thread's results file) instead.")
    ] = False,
) -> None:
    """Per customer: identifier, Workday ID, name, outcome, documents written, error."""
    with open_engine(load_settings(), work=False) as (service, _):
        found = service.results(run_id)
    if as_csv:
        sys.stdout.write(results_csv(found))
    else:
        console.print(_table(run_id, found))


def _table(run_id: int, found: Sequence[CustomerResult]) -> Table:
    table = Table(title=f"Run {run_id}: results per customer", box=box.SIMPLE_HEAD)
    for header in CSV_HEADER:
        numeric = header in ("Invoices", "Payments", "Credit notes")
        table.add_column(header, justify="right" if numeric else "left", overflow="fold")
    for result in found:
        # Text, not markup: identifiers, names and errors are anyone's text ("[red]" stays as typed).
        table.add_row(
            Text(result.identifier),
            Text(result.workday_id or ""),
            Text(result.name or ""),
            Text(result.outcome, style=_OUTCOME_STYLES.get(result.outcome, "")),
            str(result.invoices),
            str(result.payments),
            str(result.credit_notes),
            Text(result.error or ""),
        )
    return table


def register(app: typer.Typer) -> None:
    """Add `results` to the `workday-resync` command group."""
    app.command()(results)
