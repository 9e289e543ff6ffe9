"""Following runs from the terminal to their end: announcing interrupted runs this process resumes, and
what Ctrl-C leaves behind (the run, and how to resume or leave it)."""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import NoReturn

import typer
from rich.console import Console

from sync_engine.domain import BatchRun, RunStatus
from sync_engine.progress import RunEvent, RunEventKind
from sync_engine.runtime import Runtime
from sync_engine.service import RunService
from sync_engine.settings import Settings
from sync_engine.setup_errors import require_redis
from sync_engine.startup import open_engine
from sync_engine.terminal import customers_to_sync, follow_run, print_outcome

__all__ = ["INTERRUPTED_EXIT", "RunInterrupted", "follow_here", "follow_to_end", "run_here"]

#: The shell's status for a command stopped by Ctrl-C (128 + SIGINT).
INTERRUPTED_EXIT = 130

#: Stores (or resumes) the run to follow and returns its id.
StartRun = Callable[[RunService, Runtime], int]


class ResumedRuns:
    """Hears the runs this process resumes (its embedded worker's sweeper, in a worker thread) so that the
    terminal announces them from the main thread. Subscribe it before the worker starts (`open_engine`)."""

    def __init__(self) -> None:
        self._heard: queue.SimpleQueue[int] = queue.SimpleQueue()

    def __call__(self, event: RunEvent) -> None:
        if event.kind is RunEventKind.RESUMED:
            self._heard.put(event.run_id)

    def drain(self) -> list[int]:
        heard: list[int] = []
        while not self._heard.empty():
            heard.append(self._heard.get())
        return heard


def run_here(console: Console, settings: Settings, start: StartRun) -> NoReturn:
    """`follow_here`, then exit 0 if the run completed, 1 if not."""
    final = follow_here(console, settings, start)
    raise typer.Exit(0 if final.status is RunStatus.COMPLETED else 1)


def follow_here(console: Console, settings: Settings, start: StartRun) -> BatchRun:
    """Open the engine (with its worker, unless REDIS_URL sends the jobs to `workday-resync worker`), start
    or resume a run with `start` and follow it to its end, which it returns; on Ctrl-C say what became of
    the run and exit 130."""
    in_workers = bool(settings.redis_url)
    require_redis()  # a run is stored (or resumed) only if it can be sent
    resumed = ResumedRuns()
    try:
        with open_engine(settings, work=True, observers=[resumed]) as (service, rt):
            run_id = start(service, rt)
            return follow_to_end(console, service, rt, run_id, resumed=resumed, in_workers=in_workers)
    except RunInterrupted as stopped:
        _report_interrupted(console, stopped, in_workers=in_workers)


def follow_to_end(
    console: Console,
    service: RunService,
    rt: Runtime,
    run_id: int,
    *,
    resumed: ResumedRuns,
    in_workers: bool,
) -> BatchRun:
    """Follow run `run_id`, then any interrupted run this process resumed meanwhile (so that this process
    does not leave it interrupted again); each outcome is printed. Returns the outcome of `run_id`.

    Ctrl-C raises `RunInterrupted` (for `_report_interrupted`, once the engine is closed).
    `in_workers`: `workday-resync worker` processes run the jobs (REDIS_URL), not this process.
    """
    announced: list[int] = []

    def announce() -> None:
        for other in resumed.drain():
            if other != run_id and other not in announced:
                announced.append(other)
                console.print(_resuming(service.get(other)))

    following = run_id
    try:
        final = follow_run(console, service, rt, run_id, tick=announce)
        print_outcome(console, final)
        announce()
        for other in announced:
            following = other
            print_outcome(console, follow_run(console, service, rt, other, tick=announce))
    except KeyboardInterrupt:
        if not in_workers:
            console.print("Interrupted: stopping; the customers being written are finished first.")
        raise RunInterrupted(service, following) from None
    return final


class RunInterrupted(Exception):
    """Ctrl-C while following run `run_id`: reported once the engine is closed (its worker stopped), so
    that the counts are final."""

    def __init__(self, service: RunService, run_id: int) -> None:
        super().__init__(run_id)
        self.service = service
        self.run_id = run_id


def _report_interrupted(console: Console, stopped: RunInterrupted, *, in_workers: bool) -> NoReturn:
    """What became of the run and the commands to resume or leave it; exits 130."""
    run = stopped.service.get(stopped.run_id)
    console.print(_interrupted_text(run, in_workers=in_workers), highlight=False)
    raise typer.Exit(INTERRUPTED_EXIT)


def _resuming(run: BatchRun) -> str:
    done = run.counts.customers + len(run.failed)
    return (
        f"Resuming run {run.id}, interrupted earlier ({done} of {customers_to_sync(run)} customers done): "
        "this process finishes it too."
    )


def _interrupted_text(run: BatchRun, *, in_workers: bool) -> str:
    done = f"{run.counts.customers + len(run.failed)} of {customers_to_sync(run)} customers done"
    if run.is_final:
        return f"Interrupted. Run {run.id} had already ended: {run.status.label} ({done})."
    leave = f"  Leave it:   workday-resync abandon {run.id}   (ends it in Error; what it synced stays)"
    if in_workers:
        return "\n".join(
            [
                f"Stopped following run {run.id}: it goes on in the workers ({done} so far).",
                f"  Follow it:  workday-resync resume {run.id}",
                leave,
            ]
        )
    return "\n".join(
        [
            f"Run {run.id} stopped with {done} (each customer is written whole or not at "
            "all) and stays In progress.",
            f"  Finish it:  workday-resync resume {run.id}   (a later sync, serve or worker also picks it "
            "up after a minute)",
            leave,
        ]
    )
