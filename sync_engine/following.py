"""Following runs from the terminal to their end: announcing interrupted runs this process resumes, and
what Ctrl-C leaves behind (the run, and how to resume or leave it)."""

from __future__ import annotations

import queue

import typer
from rich.console import Console

from sync_engine.domain import BatchRun
from sync_engine.progress import RunEvent, RunEventKind
from sync_engine.runtime import Runtime
from sync_engine.service import RunService
from sync_engine.terminal import customers_to_sync, follow_run, print_outcome

__all__ = ["INTERRUPTED_EXIT", "ResumedRuns", "follow_to_end"]

#: The shell's status for a command stopped by Ctrl-C (128 + SIGINT).
INTERRUPTED_EXIT = 130


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

    Ctrl-C prints what becomes of the run followed and the commands to resume or leave it, then exits 130.
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
        console.print(interrupted_text(service.get(following), in_workers=in_workers), highlight=False)
        raise typer.Exit(INTERRUPTED_EXIT) from None
    return final


def _resuming(run: BatchRun) -> str:
    done = run.counts.customers + len(run.failed)
    return (
        f"Resuming run {run.id}, interrupted earlier ({done} of {customers_to_sync(run)} customers done): "
        "this process finishes it too."
    )


def interrupted_text(run: BatchRun, *, in_workers: bool) -> str:
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
            f"Interrupted. Run {run.id} stops here with {done} (each customer is written whole or not at "
            "all) and stays In progress.",
            f"  Finish it:  workday-resync resume {run.id}   (a later sync, serve or worker also picks it "
            "up after a minute)",
            leave,
        ]
    )
