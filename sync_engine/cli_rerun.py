"""`workday-resync sync --rerun RUN_ID`: the identifiers and their type come from a finished run (its
failed and unresolved customers); the run `sync` then stores records "re-run of #RUN_ID"."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from sync_engine.domain import IdentifierType
from sync_engine.rerun import RerunRefusedError
from sync_engine.settings import load_settings
from sync_engine.startup import open_engine

__all__ = ["RerunOption", "required_type", "rerun_input"]

#: `sync --rerun RUN_ID`.
RerunOption = Annotated[
    int | None,
    typer.Option(metavar="RUN_ID", help="Re-run the failed and unresolved customers of run RUN_ID."),
]


def required_type(identifier_type: str | None) -> str:
    """`sync`'s `--type`, which only `--rerun` does without."""
    if identifier_type is None:
        raise typer.BadParameter(
            "required (or --rerun RUN_ID, which takes it from that run).", param_hint="'--type'"
        )
    return identifier_type


def rerun_input(
    console: Console,
    run_id: int,
    identifiers: list[str],
    file: Path | None,
    identifier_type: str | None,
    preview: bool,
) -> tuple[IdentifierType, str]:
    """The identifier type and the identifiers (one a line) re-running `run_id` syncs, shown to the admin;
    refused (nothing stored) when the command also names identifiers, a file, a type or a preview, or when
    the run has nothing to re-run."""
    if identifiers or file is not None:
        raise RerunRefusedError(
            f"--rerun {run_id} takes its identifiers from run {run_id}: give neither identifiers nor --file."
        )
    if identifier_type is not None:
        raise RerunRefusedError(
            f"--rerun {run_id} takes the identifier type from run {run_id} too: leave --type out."
        )
    if preview:
        raise RerunRefusedError(
            "--rerun and --preview cannot be combined: re-run the customers, or preview them."
        )
    with open_engine(load_settings(), work=False) as (service, _rt):
        plan = service.rerun_plan(run_id)
    console.print(
        f"Re-run of run {run_id}, its failed and unresolved customers by "
        f"{plan.identifier_type.value.replace('_', '-')}: {', '.join(map(escape, plan.identifiers))}",
        highlight=False,
    )
    return plan.identifier_type, "\n".join(plan.identifiers)
