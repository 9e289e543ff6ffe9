"""The reply in a stopped run's thread that mentions its requester (pure): who stopped it, what it wrote
and the customers it skipped, so a requester who did not stop it learns of it as of a Completed run."""

from __future__ import annotations

from bot.messages import Message
from bot.mrkdwn import user_ref
from bot.stop_blocks import SKIPPED_ROOM, skipped_lines
from bot.thread_replies import ThreadReply
from sync_engine import BatchRun

__all__ = ["stopped_reply"]


def stopped_reply(run: BatchRun) -> ThreadReply:
    counts = run.counts
    lead = f"{user_ref(run.requested_by)} run #{run.id} was stopped by {user_ref(run.stopped_by or '')}."
    written = (
        f"Written and kept: Customers *{counts.customers}* · Invoices *{counts.invoices}* · "
        f"Payments *{counts.payments}* · Credit notes *{counts.credit_notes}*"
    )
    text = "\n".join([lead, written, *skipped_lines(run, SKIPPED_ROOM - len(lead) - len(written) - 2)])
    block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    return ThreadReply(Message(text=f"{lead} {written}", blocks=[block]))
