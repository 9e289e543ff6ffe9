"""`workday-resync`: run batch syncs from a terminal, read history, run workers, the sandbox, the demo."""

from __future__ import annotations

import functools
import getpass
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, ParamSpec

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from sync_engine import cli_approval, cli_preview, cli_rerun, cli_restore, cli_results, cli_sandbox, cli_stop
from sync_engine.cli_input import ReasonOption, SearchOption, given_identifiers, run_json
from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.errors import ResyncError
from sync_engine.following import run_here
from sync_engine.identifiers import WARNING, looks_like_wid, parse_identifiers
from sync_engine.jobs import DramatiqDispatcher
from sync_engine.logs import LOG_LEVEL_VARIABLE, configure_logging, debugging
from sync_engine.metrics import worker_environment
from sync_engine.plugins import load_commands
from sync_engine.resume import resume_runs
from sync_engine.run_reason import clean_reason
from sync_engine.runtime import Runtime
from sync_engine.service import RunService
from sync_engine.settings import load_settings
from sync_engine.setup_errors import explain
from sync_engine.startup import open_engine
from sync_engine.store.database import Database
from sync_engine.sync import stop_run
from sync_engine.terminal import WID_HINT, print_connection, print_history, print_outcome, selected

__all__ = ["app", "main", "service_command"]

# No boxed tracebacks: an unexpected error prints Python's own (services log it, see `service_command`).
app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
# Piped output is not cut to 80 columns: history tables and errors stay whole in logs and files.
console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True)
log = logging.getLogger(__name__)
P = ParamSpec("P")


def service_command(command: Callable[P, None]) -> Callable[P, None]:
    """A long-running process's command: its errors, at start-up or later, are log events like the rest of
    its output (one JSON line each off a terminal, for log collectors), never a box or a bare traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except ResyncError as error:
            log.error(str(error), exc_info=error if debugging() else None)
            raise SystemExit(2) from None
        except Exception as error:
            explained = explain(error)
            if explained is None:
                log.critical(f"`workday-resync {command.__name__}` failed", exc_info=True)
                raise SystemExit(1) from None
            log.error(str(explained), exc_info=error if debugging() else None)
            raise SystemExit(2) from None

    return run


class CliIdentifierType(StrEnum):
    SOURCE_ID = "source-id"
    REFERENCE = "reference"

    @property
    def engine(self) -> IdentifierType:
        return IdentifierType.SOURCE_ID if self is CliIdentifierType.SOURCE_ID else IdentifierType.REFERENCE


def _identifier_type(value: str | None) -> str | None:
    choices = [kind.value for kind in CliIdentifierType]
    if value is not None and value.strip().lower() not in choices:  # None: `sync --rerun` (or missing)
        raise typer.BadParameter(f"{value!r} is not one of {' or '.join(map(repr, choices))}.")
    return value and value.strip().lower()


@app.callback()
def options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Log everything, tracebacks included (same as LOG_LEVEL=debug).")
    ] = False,
) -> None:
    if debug:
        os.environ[LOG_LEVEL_VARIABLE] = "debug"  # for this process and those it starts (workers)
        configure_logging(logging.DEBUG)


@app.command()
def sync(
    identifier_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            # Checked here, not by an Enum annotation: Typer's message for that starts "Value error, ".
            callback=_identifier_type,
            metavar="source-id|reference",
            help="How the customers are named: source-id (Workday ID) or reference (customer number).",
        ),
    ] = None,
    identifiers: Annotated[list[str] | None, typer.Argument(help="Identifiers (or use --file).")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A file of identifiers, one per line ('-' = stdin).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    preview: Annotated[
        bool, typer.Option("--preview", help="Fetch and show what would change first; then ask to apply it.")
    ] = False,
    rerun: cli_rerun.RerunOption = None,
    reason: ReasonOption = None,
) -> None:
    """Re-import customers with all their invoices, payments and credit notes, overwriting the store."""
    if rerun is not None:
        kind, text = cli_rerun.rerun_input(console, rerun, identifiers or [], file, identifier_type, preview)
    else:  # Arguments first, then the file's lines: a file alone keeps its own line numbers in messages.
        kind = CliIdentifierType(cli_rerun.required_type(identifier_type)).engine
        text = given_identifiers(identifiers or [], file, kind)
    settings = load_settings()
    settings.workday()  # fail now, in one line, if Workday is not configured
    clean = parse_identifiers(text, kind)
    reason = clean_reason(reason, required=settings.resync_require_reason)  # before asking anything
    console.print(selected(len(clean)))
    if kind is IdentifierType.REFERENCE and all(map(looks_like_wid, clean)):
        console.print(WID_HINT, style="yellow", highlight=False)
    if preview:
        cli_preview.preview_then_apply(
            settings, kind, clean, f"cli:{getpass.getuser()}", yes=yes, reason=reason
        )
    if not yes and not typer.confirm(WARNING.format(n=len(clean)) + " Continue?", default=False):
        raise typer.Exit(1)

    def start(service: RunService, _rt: Runtime) -> int:
        run = service.submit(
            kind, clean, requested_by=f"cli:{getpass.getuser()}", reason=reason, rerun_of=rerun
        )
        if run.status is RunStatus.PENDING_APPROVAL:
            cli_approval.stop_awaiting_approval(run)
        return run.id

    run_here(console, settings, start)


@app.command()
def resume(run_id: Annotated[int, typer.Argument(help="The run's number.")]) -> None:
    """Finish an interrupted run here (with REDIS_URL: follow it while the workers finish it)."""
    settings = load_settings()
    settings.workday()

    def start(service: RunService, rt: Runtime) -> int:
        run = service.get(run_id)
        cli_approval.refuse_if_awaiting(run, "resume")
        if run.is_final:
            print_outcome(console, run)
            raise typer.Exit(0 if run.status is RunStatus.COMPLETED else 1)
        if not settings.redis_url:
            # Its work died with the process that had it: send it again now, not once it has been quiet.
            resume_runs(rt, DramatiqDispatcher(), quiet_for=timedelta(0), only=run_id)
        console.print(f"Resuming run {run_id}.")
        return run_id

    run_here(console, settings, start)


@app.command()
def abandon(run_id: Annotated[int, typer.Argument(help="The run's number.")]) -> None:
    """End an unfinished run in Error now; the customers it synced stay synced."""
    with open_engine(load_settings(), work=False) as (service, rt):
        cli_approval.refuse_if_awaiting(service.get(run_id), "abandon")
        if service.get(run_id).is_final:
            raise ResyncError(f"Run {run_id} has already ended: nothing to abandon.")
        stop_run(rt, run_id, f"Abandoned by cli:{getpass.getuser()} before it finished.")
        print_outcome(console, service.get(run_id))


@app.command()
def history(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many runs to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON objects instead of a table.")] = False,
    search: SearchOption = None,
) -> None:
    """Past runs, most recent first."""
    with open_engine(load_settings(), work=False) as (service, _):
        runs = service.history(limit=limit, search=search)
    if as_json:
        sys.stdout.write(json.dumps([run_json(run) for run in runs], indent=2) + "\n")
    else:
        print_history(console, runs)


@app.command()
def records(run_id: Annotated[int, typer.Argument(help="The run's number.")]) -> None:
    """The run's exact identifier list, one per line (the records file of its Slack thread)."""
    with open_engine(load_settings(), work=False) as (service, _):
        sys.stdout.write(service.records_text(run_id))


@app.command()
def check() -> None:
    """Is Workday connected? Checks now (a token refresh and one request per operation we call)."""
    settings = load_settings()
    with open_engine(settings, work=False) as (service, _):
        status = service.connection(settings).status(fresh=True)
    print_connection(console, status)
    raise typer.Exit(0 if status.connected else 1)


@app.command()
def migrate(
    down_to: Annotated[
        str | None,
        typer.Option(help="Roll the schema back to this revision (run by the release that upgraded it)."),
    ] = None,
) -> None:
    """Bring the store's schema up to date (also done on every start), or roll it back."""
    database = Database(load_settings().database_url)
    if down_to is None:
        database.migrate()
        console.print("The store's schema is up to date.")
    else:
        database.downgrade(down_to)
        console.print(f"The store's schema is back at revision {down_to}.")


@app.command()
@service_command
def worker(
    processes: Annotated[int, typer.Option(min=1, help="Worker processes on this host.")] = 2,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Threads per process (default WORKER_THREADS).")
    ] = None,
) -> None:
    """Run Dramatiq workers on this host (needs REDIS_URL; run as many hosts as you like).

    Prometheus metrics of all of them: GET http://HOST:METRICS_PORT/metrics (default 9191).
    """
    settings = load_settings()
    if not settings.redis_url:
        raise ResyncError(
            "REDIS_URL is not set: without Redis, jobs run inside the `sync` or `serve` process itself."
        )
    settings.workday()
    # Dramatiq serves GET /metrics on METRICS_PORT for all of this host's worker processes.
    environment = {**os.environ, **worker_environment(settings)}
    database = Database(settings.database_url)
    try:
        # A worker started during a PostgreSQL outage waits for it (up to 15 minutes) instead of exiting.
        database.migrate_when_reachable()
    except OperationalError as error:
        reason = database.redact(str(error.orig).splitlines()[0] if error.orig else str(error))
        raise ResyncError(f"The store at {database.server} cannot be reached: {reason}") from None
    finally:
        database.dispose()
    # No --queues: the workers consume every queue declared, the engine's and its plugins' (Slack updates).
    argv = [
        sys.executable, "-m", "sync_engine.dramatiq_main", "sync_engine.worker_boot",
        "--processes", str(processes),
        "--threads", str(threads or settings.worker_threads),
        "--skip-logging",
    ]  # fmt: skip
    os.execve(sys.executable, argv, environment)


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=1, max=100, help="Customers in the demo batch.")] = 25,
) -> None:
    """Run a batch against the built-in Workday sandbox on the embedded defaults, then show history."""
    from sync_engine.demo import run_demo

    ok = run_demo(console, batch_size=customers)
    raise typer.Exit(0 if ok else 1)


cli_restore.register(app)
cli_sandbox.register(app)
cli_approval.register(app)
cli_results.register(app)
cli_stop.register(app)


def main() -> None:
    """Console entry point: errors we expect end in one line, not a traceback."""
    configure_logging(logging.WARNING)
    # Front ends add their commands (`serve`) before the command line is read.
    load_commands(app)
    try:
        app()
    except ResyncError as error:
        _fail(error, error)
    except Exception as error:
        explained = explain(error)
        if explained is None:
            raise
        _fail(explained, error)


def _fail(error: ResyncError, cause: BaseException) -> NoReturn:
    if debugging():
        traceback.print_exception(cause)
    # One line however long: piped stderr is read by scripts and log collectors.
    errors.print(f"Error: {error}", style="red", markup=False, highlight=False, soft_wrap=True)
    raise SystemExit(2) from None
