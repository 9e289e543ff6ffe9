"""`workday-resync sync … --preview`: fetch, show what would change, and apply it only if asked."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sync_engine.cli_approval import stop_awaiting_approval
from sync_engine.domain import IdentifierType, RunKind, RunStatus
from sync_engine.following import follow_here
from sync_engine.identifiers import WARNING
from sync_engine.preview_diff import KINDS, CustomerDiff, KindDiff
from sync_engine.preview_plan import PreviewReport, plan_apply, preview_report
from sync_engine.runtime import Runtime
from sync_engine.service import RunService
from sync_engine.settings import Settings
from sync_engine.startup import open_engine

__all__ = ["diff_table", "preview_then_apply"]

console = Console(width=None if sys.stdout.isatty() else 160)

_KIND_LABELS = {"invoices": "Invoices", "payments": "Payments", "credit_notes": "Credit notes"}


def preview_then_apply(
    settings: Settings,
    identifier_type: IdentifierType,
    identifiers: Sequence[str],
    requested_by: str,
    *,
    yes: bool,
    reason: str | None = None,
) -> NoReturn:
    """Run a preview, print its diff, ask whether to apply (the overwrite sentence), then apply it (or say
    how another admin approves it, exit 3, above RESYNC_APPROVAL_ABOVE). Ctrl-C while either run works
    says what became of it (`sync_engine.following`)."""

    def start_preview(service: RunService, _rt: Runtime) -> int:
        run = service.submit(identifier_type, identifiers, requested_by, kind=RunKind.PREVIEW, reason=reason)
        return run.id

    preview = follow_here(console, settings, start_preview)
    if preview.status is not RunStatus.COMPLETED:
        raise typer.Exit(1)
    with open_engine(settings, work=False) as (_, rt):
        console.print(diff_table(preview_report(rt.database, preview.id)))
        console.print(f"[bold]Preview ready[/] (run {preview.id}).")
        planned = plan_apply(rt.database, preview.id)
    question = f"Apply this preview? {WARNING.format(n=len(planned.to_apply))}"
    if not yes and not typer.confirm(question, default=False):
        console.print(f"Preview {preview.id} not applied: nothing was written.")
        raise typer.Exit(1)
    left_out: list[str] = []

    def start_apply(service: RunService, rt: Runtime) -> int:
        plan = plan_apply(rt.database, preview.id)  # again: a run may have written a customer meanwhile
        left_out.extend(diff.label for diff in plan.written_since)
        for label in left_out:
            console.print(f"[yellow]Written since the preview, left out:[/] {escape(label)}")
        run = service.submit_apply(plan, requested_by)
        if run.status is RunStatus.PENDING_APPROVAL:
            stop_awaiting_approval(run)
        return run.id

    done = follow_here(console, settings, start_apply)
    raise typer.Exit(0 if done.status is RunStatus.COMPLETED and not left_out else 1)


def diff_table(report: PreviewReport) -> Table:
    """Per customer (the most changes first) and in total: new, changed (amount delta) and removed."""
    until = f", can be applied until {report.expires_at:%Y-%m-%d %H:%M} UTC" if report.expires_at else ""
    table = Table(title=f"Preview {report.run.id}: what applying it would change{until}", box=box.SIMPLE_HEAD)
    table.add_column("Customer")
    for name in KINDS:
        table.add_column(f"{_KIND_LABELS[name]}\nnew / changed (Δ) / removed", no_wrap=True)
    for diff in report.customers:
        table.add_row(_customer_cell(diff), *(_kind_cell(diff.kinds[name]) for name in KINDS))
    table.add_row("[bold]Total[/]", *(_kind_cell(report.totals[name]) for name in KINDS), end_section=True)
    if report.run.unresolved:
        table.caption = f"Not found on Workday ({len(report.run.unresolved)}): " + escape(
            ", ".join(report.run.unresolved)
        )
    return table


def _customer_cell(diff: CustomerDiff) -> str:
    note = " (new customer)" if diff.new_customer else " (details changed)" if diff.customer_changed else ""
    return escape(diff.label) + note


def _kind_cell(kind: KindDiff) -> str:
    delta = kind.amount_delta
    sign = "+" if delta > 0 else ""
    shown = f" ({sign}{delta:,f})" if delta != Decimal(0) else ""
    return f"{kind.new} / {kind.changed}{shown} / {kind.removed}"
