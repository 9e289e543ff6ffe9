"""The status message's once-only steps: post it, upload the records file, post the Error or Completed
reply and its file.

Each is claimed first (`AnnouncementService.claim_step`, a row of the run's announcement in the store),
so a redelivered update never repeats it. A claim not marked done belongs to a holder that no longer has
the run's lock (the caller has it): it died or failed, so the caller's claim takes over.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from sync_engine import AnnouncementService, BatchRun

__all__ = ["Step", "once"]


class Step(StrEnum):
    """The steps, as the store names them (the same names the notes used before revision 0006)."""

    STATUS_MESSAGE = "status_message"
    RECORDS_FILE = "records_file"
    ERROR_REPLY = "error_reply"
    COMPLETED_REPLY = "completed_reply"
    STOPPED_REPLY = "stopped_reply"
    #: The .txt of what did not fit in the Completed or Error reply (a step of its own: a failed upload
    #: is tried again without posting the reply twice).
    REPLY_FILE = "reply_file"
    #: The per-customer results CSV of a finished run (`bot.status.results_file`).
    RESULTS_FILE = "results_file"


def once(
    announcements: AnnouncementService, run: BatchRun, step: Step, owner: str, action: Callable[[], None]
) -> None:
    """Run `action` once per run across processes and redeliveries."""
    done = run.announcement.steps.get(step)
    if done is not None and done.done:
        return
    if not announcements.claim_step(run.id, step, owner):
        return
    action()
    announcements.finish_step(run.id, step, owner)
