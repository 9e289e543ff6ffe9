"""Block Kit for stopping a run (pure): the Stop button of a running run's status message, what a
stopped run's message says, and the answer to the admin who clicked.

Stop is a danger button behind Slack's confirmation dialog; it is there only while the run is Received
or In progress, so a final run's message has none. A stopped run shows who stopped it, when, and the
customers it skipped (escaped, as typed), within one section: a long list ends with how many more.
"""

from __future__ import annotations

from typing import Any

from bot.ids import ActionId, BlockId
from bot.mrkdwn import clip, date_token, escape, user_ref
from sync_engine import BatchRun, RunStatus, stop_outcome

__all__ = ["STOP_CONFIRM", "skipped_lines", "stop_answer", "stop_blocks"]

JsonDict = dict[str, Any]

#: Room for the skipped customers' section (Slack allows 3,000 characters a section).
SKIPPED_ROOM = 2900
#: Room for the error of customers that failed before the stop (the thread has it whole).
ERROR_ROOM = 1000

#: Slack's dialog before the click counts (title and buttons ≤ 30 characters, text ≤ 300).
STOP_CONFIRM: JsonDict = {
    "title": {"type": "plain_text", "text": "Stop this run?"},
    "text": {
        "type": "mrkdwn",
        "text": "Customers not started yet are *skipped* (left as the store holds them); those being "
        "written now finish. What the run wrote stays written.",
    },
    "confirm": {"type": "plain_text", "text": "Stop the run"},
    "deny": {"type": "plain_text", "text": "Keep it running"},
    "style": "danger",
}


def stop_blocks(run: BatchRun) -> list[JsonDict]:
    """The Stop button while the run works; who stopped it and what it skipped once stopped."""
    if run.status in (RunStatus.RECEIVED, RunStatus.IN_PROGRESS):
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Stop"},
            "action_id": ActionId.STOP_RUN.value,
            "value": str(run.id),
            "style": "danger",
            "confirm": STOP_CONFIRM,
        }
        return [{"type": "actions", "block_id": BlockId.RUN_STOP.value, "elements": [button]}]
    if run.status is not RunStatus.STOPPED:
        return []
    who = user_ref(run.stopped_by or "")
    when = f" {date_token(run.stopped_at)}" if run.stopped_at else ""
    first = f":octagonal_sign: *Stopped* by {who}{when}."
    blocks = [_section("\n".join([first, *skipped_lines(run, SKIPPED_ROOM - len(first) - 1)]))]
    if run.error:
        blocks.append(_section(":x: " + clip(run.error, ERROR_ROOM, more=" … (whole: History, Full error)")))
    return blocks


def skipped_lines(run: BatchRun, room: int) -> list[str]:
    """The customers the stop skipped, in one line of at most `room` characters (none if none)."""
    if not run.skipped:
        return []
    lead = f"*Skipped, not started ({len(run.skipped)}):* "
    return [lead + _listed(run.skipped, room - len(lead))]


def stop_answer(run: BatchRun, stopped: bool) -> str:
    """What the admin who clicked Stop is told, privately: the CLI's words, the stopper mentioned."""
    return stop_outcome(run, stopped, who=user_ref)


def _listed(identifiers: list[str], room: int) -> str:
    """As many identifiers as fit in `room` characters, each as typed (escaped), then how many more."""
    shown: list[str] = []
    used = 0
    for index, identifier in enumerate(identifiers):
        piece = _verbatim(identifier)
        more = f" … and {len(identifiers) - index} more"
        # Room is kept for the "and N more" that follows if this one does not fit.
        if shown and used + 2 + len(piece) + len(more) > room:
            return ", ".join(shown) + more
        used += len(piece) + (2 if shown else 0)
        shown.append(piece)
    return ", ".join(shown)


def _verbatim(identifier: str) -> str:
    """An identifier in a code span (no *bold* or _italics_ formatting), escaped; one holding a backtick
    is shown plain."""
    text = escape(identifier)
    return text if "`" in identifier else f"`{text}`"


def _section(text: str) -> JsonDict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
