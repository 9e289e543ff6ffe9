"""The reply in a finished run's thread that mentions its requester (pure builders: run in, reply out).

Completed: the four counts and the identifiers Workday did not know. Error: the whole error. A reply
whose blocks would not fit in a message (`bot.block_budget`: Slack refuses about 13,000 characters) says
so and carries what does not fit as a .txt file for the same thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.block_budget import within_budget
from bot.messages import SECTION_ROOM, JsonDict, Message, unresolved_sections
from bot.mrkdwn import clip, escaped_chunks, plural, user_ref
from sync_engine import BatchRun, RunStatus

__all__ = ["Attachment", "ThreadReply", "completed_reply", "error_reply"]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A text file posted in the thread after the reply."""

    filename: str
    title: str
    content: str


@dataclass(frozen=True, slots=True)
class ThreadReply:
    message: Message
    attachment: Attachment | None = None


def _section(text: str) -> JsonDict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _counts(run: BatchRun) -> str:
    counts = run.counts
    return (
        f"Customers *{counts.customers}* · Invoices *{counts.invoices}* · Payments *{counts.payments}* · "
        f"Credit notes *{counts.credit_notes}*"
    )


def _unresolved_text(run: BatchRun) -> str:
    return "".join(f"{identifier}\n" for identifier in run.unresolved)


def completed_reply(run: BatchRun) -> ThreadReply:
    """Mentions the requester: the run completed, its counts, every identifier Workday did not know."""
    lead = f"{user_ref(run.requested_by)} run #{run.id} completed."
    text = f"{lead} {_counts(run)}"
    if run.unresolved:
        text += f" · {plural(len(run.unresolved), 'identifier')} not found on Workday"
    blocks = [_section(f"{lead}\n{_counts(run)}"), *unresolved_sections(run.unresolved)]
    if within_budget(blocks):
        return ThreadReply(Message(text=text, blocks=blocks))
    filename = f"workday-resync-run-{run.id}-not-found.txt"
    note = (
        f":warning: *Not found on Workday ({len(run.unresolved)}):* too many to show here, "
        f"they are in the file `{filename}` below, one per line."
    )
    attachment = Attachment(
        filename, f"Run #{run.id}: the identifiers Workday did not know", _unresolved_text(run)
    )
    return ThreadReply(Message(text=text, blocks=[blocks[0], _section(note)]), attachment)


def error_reply(run: BatchRun) -> ThreadReply:
    """Mentions the requester: the run ended in error, and the whole error (as a file when too long)."""
    assert run.status is RunStatus.ERROR
    error = run.error or ""
    lead = f"{user_ref(run.requested_by)} run #{run.id} ended in error:"
    text = f"{lead} {clip(error, 3000)}"
    blocks = [_section(lead), *(_section(piece) for piece in escaped_chunks(error, SECTION_ROOM))]
    if run.unresolved:
        blocks.extend(unresolved_sections(run.unresolved))
    if within_budget(blocks):
        return ThreadReply(Message(text=text, blocks=blocks))
    filename = f"workday-resync-run-{run.id}-error.txt"
    note = (
        f"The whole message ({plural(len(error), 'character')}) is too long for a Slack message: it is in "
        f"the file `{filename}` below"
        + (", with the identifiers Workday did not know." if run.unresolved else ".")
    )
    content = error + "\n"
    if run.unresolved:
        content += f"\nNot found on Workday ({len(run.unresolved)}):\n{_unresolved_text(run)}"
    short = [_section(lead), _section(clip(error, SECTION_ROOM, more=" …")), _section(note)]
    return ThreadReply(
        Message(text=text, blocks=short), Attachment(filename, f"Run #{run.id}: the whole error", content)
    )
