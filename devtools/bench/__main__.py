"""`python -m devtools.bench`: measure a batch on the real path against Workday's request floor; print one
table. Run from the repository with the virtualenv active (devtools is not installed with the product)."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from typing import Annotated

import typer
from rich.console import Console

from devtools.bench.report import bench_table
from devtools.bench.runner import FULL, QUICK, BenchOptions, run_bench
from devtools.bench.slack import slack_rows
from sync_engine.errors import ResyncError
from sync_engine.logs import configure_logging
from sync_engine.settings import load_settings

__all__ = ["app", "main"]

TITLE = "python -m devtools.bench"

app = typer.Typer(help=__doc__, add_completion=False, pretty_exceptions_enable=False)
# Piped output is not cut to 80 columns (as the product CLI): the table stays whole in logs and files.
console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True)


@app.command()
def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="A smaller batch (20 customers, ~3,000 documents).")
    ] = False,
    customers: Annotated[int | None, typer.Option(min=1, max=100, help="Customers in the batch.")] = None,
    latency: Annotated[float, typer.Option(min=0, help="Sandbox latency per request, seconds.")] = 0.1,
    postgres: Annotated[
        str | None,
        typer.Option(help="PostgreSQL server for scratch stores (default: DATABASE_URL if PostgreSQL)."),
    ] = None,
    redis: Annotated[
        str | None, typer.Option(help="Redis for the broker and the gate (default: embedded broker).")
    ] = None,
    skip_slack: Annotated[bool, typer.Option("--skip-slack", help="Leave out the Slack rows.")] = False,
    skip_naive: Annotated[bool, typer.Option("--skip-naive", help="Leave out the naive baseline.")] = False,
) -> None:
    """Measure a batch on the real path against Workday's request floor; print one table."""
    data = QUICK if quick else FULL
    if customers is not None:
        data = replace(data, customers=customers)
    configured = load_settings().database_url
    if postgres is None and configured.startswith("postgresql"):
        postgres = configured
    options = BenchOptions(
        data=data, latency=latency, postgres_url=postgres, redis_url=redis, naive=not skip_naive
    )
    slack = None if skip_slack else slack_rows
    report = run_bench(
        options, slack=slack, say=lambda line: errors.print(line, markup=False, highlight=False)
    )
    console.print(bench_table(report.rows, TITLE))
    console.print(f"wall / floor at {latency * 1000:g} ms: {report.wall_over_floor:.2f}")


def main() -> None:
    """Errors we expect (a scratch database that cannot be created, bad settings) end in one line."""
    configure_logging(logging.WARNING)
    try:
        app()
    except ResyncError as error:
        errors.print(f"Error: {error}", style="red", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
