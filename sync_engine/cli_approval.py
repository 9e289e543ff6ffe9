"""`workday-resync approve` and `reject`: a second admin's decision on a run awaiting approval
(RESYNC_APPROVAL_ABOVE), the same as the Slack status message's buttons; and what `sync` says when the
run it stored waits for one."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from sync_engine.domain import BatchRun, RunStatus
from sync_engine.errors import ResyncError
from sync_engine.following import run_here
from sync_engine.runtime import Runtime
from sync_engine.service import RunService
from sync_engine.settings import load_settings
from sync_engine.startup import open_engine

__all__ = ["AWAITING_APPROVAL_EXIT", "cli_user", "refuse_if_awaiting", "register", "stop_awaiting_approval"]

console = Console(width=None if sys.stdout.isatty() else 160)

#: `sync`'s exit status when the run it stored waits for a second admin (0 means it completed).
AWAITING_APPROVAL_EXIT = 3

_AS_HELP = "Who decides, as history shows it (default: cli: and your login name, as `sync` records it)."


def cli_user() -> str:
    """Who a terminal user is in history: what `sync` records as the requester."""
    return f"cli:{getpass.getuser()}"


def stop_awaiting_approval(run: BatchRun) -> NoReturn:
    """`sync` stored a run that waits for approval: say so, how to decide, and exit."""
    approval = run.approval
    assert approval is not None
    console.print(
        f"Run {run.id} awaits approval: it names {len(run.identifiers)} customers, more than "
        f"{approval.above} (RESYNC_APPROVAL_ABOVE), so another admin must approve it before "
        f"{approval.expires_at:%Y-%m-%d %H:%M} UTC. Nothing was written.",
        highlight=False,
    )
    console.print(
        f"  Approve it:  workday-resync approve {run.id}   (another admin, logged in as themselves; "
        f"not {run.requested_by})",
        highlight=False,
    )
    console.print(f"  Reject it:   workday-resync reject {run.id}", highlight=False)
    console.print("  In Slack, its status message has Approve and Reject buttons.", highlight=False)
    raise typer.Exit(AWAITING_APPROVAL_EXIT)


def refuse_if_awaiting(run: BatchRun, command: str) -> None:
    """A run awaiting approval has nothing to resume or abandon: say what to do instead."""
    if run.status is RunStatus.PENDING_APPROVAL:
        raise ResyncError(
            f"Run {run.id} awaits approval, so there is nothing to {command}: another admin runs it with "
            f"`workday-resync approve {run.id}`, or ends it with `workday-resync reject {run.id}`."
        )


def approve(run_id: Annotated[int, typer.Argument(help="The run awaiting approval.")]) -> None:
    """Approve a run awaiting approval as your login (not its requester's): it is queued and followed here
    to its end."""
    settings = load_settings()
    settings.workday()  # the approved run works here (without REDIS_URL): fail now if it cannot
    # The login, never a name given: a second pair of eyes is another person, not another spelling.
    who = cli_user()

    def start(service: RunService, _rt: Runtime) -> int:
        run = service.approvals().approve(run_id, who)
        console.print(f"Run {run.id} approved by {escape(who)}: queued.", highlight=False)
        return run.id

    run_here(console, settings, start)


def reject(
    run_id: Annotated[int, typer.Argument(help="The run awaiting approval.")],
    rejecter: Annotated[str | None, typer.Option("--as", help=_AS_HELP)] = None,
) -> None:
    """Reject a run awaiting approval: it ends Rejected and writes nothing (its requester may withdraw it)."""
    who = rejecter or cli_user()
    with open_engine(load_settings(), work=False) as (service, _):
        run = service.approvals().reject(run_id, who)
    console.print(f"Run {run.id} rejected by {escape(who)}. Nothing was written.", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `approve` and `reject` to the `workday-resync` command group."""
    app.command()(approve)
    app.command()(reject)
