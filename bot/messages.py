"""Block Kit builders for every message the app sends: pure functions, data in, `Message` out.

Limits they keep (checked in tests against the Slack emulator's table, `devtools.slack_emulator.limits`):
at most 50 blocks per message, section text at most 3,000 characters, fields at most 2,000, header 150,
fallback text within chat.update's 4,000, blocks within 12,000 characters in all (`bot.block_budget`).
Anything a user or Workday wrote is escaped (`bot.mrkdwn.escape`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot import preview_blocks
from bot.approval_blocks import approval_blocks, decision_line
from bot.block_budget import within_budget
from bot.ids import COMMAND, ActionId, BlockId
from bot.modal import IDENTIFIER_TYPE_LABELS
from bot.mrkdwn import clip, date_token, duration_text, escape, escaped_chunks, plural, user_ref
from bot.rerun_blocks import rerun_actions, rerun_of_suffix
from bot.stop_blocks import stop_blocks
from sync_engine import MAX_IDENTIFIERS, BatchRun, PreviewView, RunStatus

__all__ = [
    "STATUS_TITLE",
    "Message",
    "error_preview",
    "full_error",
    "history_page",
    "not_configured",
    "reason_line",
    "refusal",
    "status_message",
    "unavailable_run",
    "unresolved_sections",
    "usage",
]

STATUS_TITLE = "Batch synchronization | Workday"
#: Runs per history page: three blocks each at most, plus header and footer, stays within 50 blocks.
HISTORY_PAGE_SIZE = 10
#: Room for one piece of text in a section (Slack allows 3,000; the rest is for a lead-in).
SECTION_ROOM = 2900
#: Blocks of a message (Slack: 50).
MAX_BLOCKS = 50
#: Sections of a run's error in one message: within 12,000 characters of blocks (`bot.block_budget`).
MAX_ERROR_SECTIONS = 3

_STATUS_EMOJI = {
    RunStatus.DRAFT: ":memo:",
    RunStatus.CANCELLED: ":no_entry_sign:",
    RunStatus.RECEIVED: ":inbox_tray:",
    RunStatus.IN_PROGRESS: ":hourglass_flowing_sand:",
    RunStatus.COMPLETED: ":white_check_mark:",
    RunStatus.ERROR: ":x:",
    RunStatus.PENDING_APPROVAL: ":raised_hand:",
    RunStatus.REJECTED: ":no_entry:",
    RunStatus.EXPIRED: ":hourglass:",
    RunStatus.STOPPED: ":octagonal_sign:",
}

JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Message:
    """A message's notification/fallback text and its blocks."""

    text: str
    blocks: list[JsonDict] = field(default_factory=list)

    def kwargs(self) -> JsonDict:
        return {"text": self.text, "blocks": self.blocks}


def _section(text: str, block_id: str | None = None) -> JsonDict:
    block: JsonDict = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def _context(text: str) -> JsonDict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action: ActionId, value: str, style: str | None = None) -> JsonDict:
    button: JsonDict = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action.value,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def status_label(status: RunStatus) -> str:
    return f"{_STATUS_EMOJI[status]} {status.label}"


# --- the request ------------------------------------------------------------------------------------


def unavailable_run() -> Message:
    text = "This request no longer exists. Nothing was changed; start again with `/workday-resync`."
    return Message(text=text, blocks=[_section(text)])


def refusal(admin_group: str | None = None) -> Message:
    """Why a user may not use the app: who may (`admin_group`: RESYNC_ADMIN_USERGROUP, when set)."""
    who = f"members of <!subteam^{admin_group}>" if admin_group else "Slack workspace admins and owners"
    text = (
        f":lock: Only {who}, and the users this app's operators allow, can use `{COMMAND}`. "
        "Nothing was changed."
    )
    return Message(text=text, blocks=[_section(text)])


def not_configured(reason: str) -> Message:
    text = (
        ":warning: Workday is not configured for this app yet, so no customers can be synchronized. "
        f"Ask the app's operators to finish its setup. ({escape(reason)})"
    )
    return Message(text=text, blocks=[_section(text)])


def usage() -> Message:
    text = (
        f"*`{COMMAND}`* opens a form to re-import up to {MAX_IDENTIFIERS} customers from Workday, with all "
        "their invoices, payments and credit notes (by Workday ID or by customer number). "
        "You confirm before anything is changed.\n"
        f"*`{COMMAND} status`* shows whether Workday is connected (and why not), the tenant, when the "
        "connection was last verified and the last run's outcome.\n"
        f"*`{COMMAND} history`* lists past runs, most recent first; *`{COMMAND} history TEXT`* only those "
        "whose reason, identifiers or requester contain TEXT (any case).\n"
        f"*`{COMMAND} help`* shows this message.\n"
        "The app's *Home* tab is the window: *Synchronize* opens the same form, *History* lists past runs. "
        "The shortcuts *Batch sync Workday* and, on a message, *Resync listed customers* open it too."
    )
    return Message(text=text, blocks=[_section(text)])


# --- the status message -----------------------------------------------------------------------------


def _customers_field(run: BatchRun) -> str:
    if run.status is RunStatus.COMPLETED:
        return str(run.counts.customers)
    total = run.resolved if run.started_at is not None else len(run.identifiers)
    return f"{run.counts.customers} of {total}"


def _verbatim(identifier: str) -> str:
    """An identifier shown as typed: in a code span `*bold*`, `_x_` and `~x~` do not format (mrkdwn has no
    escape for them; `<`, `>`, `&` are still escaped). A backtick cannot sit inside one: shown plain."""
    return identifier if "`" in identifier else f"`{identifier}`"


def status_message(run: BatchRun, preview: PreviewView | None = None) -> Message:
    """The run's one status message: who, when, what, status and the four counts, then the outcome
    (a finished preview's diff and its Apply and Discard: `preview`)."""
    counts = run.counts
    fields = [
        f"*Requested by*\n{user_ref(run.requested_by)}",
        f"*Requested*\n{date_token(run.created_at)}",
        f"*Identifier type*\n{IDENTIFIER_TYPE_LABELS[run.identifier_type]}",
        f"*Status*\n{status_label(run.status)}",
        f"*Customers*\n{_customers_field(run)}",
        f"*Invoices*\n{counts.invoices}",
        f"*Payments*\n{counts.payments}",
        f"*Credit notes*\n{counts.credit_notes}",
    ]
    blocks: list[JsonDict] = [
        {"type": "header", "text": {"type": "plain_text", "text": STATUS_TITLE}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]},
    ]
    if run.reason:
        blocks.append(_context(reason_line(run.reason)))
    if run.status is RunStatus.COMPLETED and run.duration_seconds is not None:
        blocks.append(_context(f":stopwatch: Completed in {duration_text(run.duration_seconds)}"))
    if run.previous_kept_until is not None:
        kept_until = date_token(run.previous_kept_until)
        blocks.append(_context(f":file_cabinet: What this run overwrote is kept until {kept_until}"))
    blocks.extend(approval_blocks(run))
    unresolved_at = len(blocks)
    blocks.extend(unresolved_sections(run.unresolved))
    if run.status is RunStatus.ERROR and run.error:
        lead = ":x: *Error:* "
        more = " … (full message in the thread)"
        blocks.append(_section(lead + clip(run.error, SECTION_ROOM - len(lead), more=more)))
    blocks.extend(stop_blocks(run))
    footer = _context(
        f"Run #{run.id}{rerun_of_suffix(run)} · {plural(len(run.identifiers), 'identifier')} · "
        "records file in the thread"
    )
    blocks.extend(preview_blocks.run_blocks(run, preview, around=[*blocks, footer]))
    blocks.append(footer)
    blocks.extend(rerun_actions(run))
    if not within_budget(blocks):
        # Long identifiers: Slack would refuse the message; the list is in the thread's reply or its file.
        lead = f":warning: *Not found on Workday ({len(run.unresolved)}):* the list is in the thread."
        blocks[unresolved_at : unresolved_at + len(unresolved_sections(run.unresolved))] = [_section(lead)]
    text = (
        f"{STATUS_TITLE}: run #{run.id} {run.status.label}. Customers {counts.customers}, "
        f"Invoices {counts.invoices}, Payments {counts.payments}, Credit notes {counts.credit_notes}."
    )
    return Message(text=text, blocks=blocks)


def reason_line(reason: str, limit: int | None = None) -> str:
    """The run's reason as typed (escaped), cut to `limit` characters if given."""
    return f":memo: *Reason:* {clip(reason, limit) if limit is not None else escape(reason)}"


def unresolved_sections(unresolved: list[str]) -> list[JsonDict]:
    """Every identifier Workday did not know, over as many sections as it takes (100 Workday IDs: two)."""
    if not unresolved:
        return []
    lead = f":warning: *Not found on Workday ({len(unresolved)}):* "
    pieces = escaped_chunks(", ".join(map(_verbatim, unresolved)), SECTION_ROOM - len(lead))
    return [_section((lead if n == 0 else "") + piece) for n, piece in enumerate(pieces)]


def _error_sections(error: str, room: int) -> list[JsonDict]:
    return [_section(piece) for piece in escaped_chunks(error, SECTION_ROOM)][:room]


def full_error(run: BatchRun) -> Message:
    """A run's error, as much as fits in a message (the whole text is in the status message's thread)."""
    lead = f"*Run #{run.id}* ended in error:"
    sections = _error_sections(run.error or "", MAX_ERROR_SECTIONS + 1)
    if len(sections) > MAX_ERROR_SECTIONS:
        sections = [*sections[: MAX_ERROR_SECTIONS - 1], _section("… the whole message is in the thread.")]
    return Message(text=f"Run #{run.id}: {clip(run.error or '', 3000)}", blocks=[_section(lead), *sections])


# --- history ----------------------------------------------------------------------------------------

#: Characters of a run's error shown in the history list (the full text is one click away).
HISTORY_ERROR_PREVIEW = 300
#: Characters of a run's reason shown in a history list (the status message shows it whole).
HISTORY_REASON_PREVIEW = 200


def _history_entry(run: BatchRun) -> list[JsonDict]:
    counts = run.counts
    kind = f" · {label}" if (label := preview_blocks.kind_label(run)) else ""
    lines = [
        f"*Run #{run.id}*{kind} · {date_token(run.created_at)} · {status_label(run.status)} · "
        f"{IDENTIFIER_TYPE_LABELS[run.identifier_type]} · by {user_ref(run.requested_by)}",
        f"Customers {counts.customers} · Invoices {counts.invoices} · Payments {counts.payments} · "
        f"Credit notes {counts.credit_notes}",
    ]
    if run.reason:
        lines.append(reason_line(run.reason, HISTORY_REASON_PREVIEW))
    links = []
    if run.announcement.link:
        links.append(f"<{run.announcement.link}|Status thread>")
    if run.announcement.records_link:
        links.append(f"<{run.announcement.records_link}|Records file>")
    if links:
        lines.append(" · ".join(links))
    if decided := decision_line(run):
        lines.append(decided)
    quote, more = error_preview(run, HISTORY_ERROR_PREVIEW, BlockId.HISTORY_ERROR, ActionId.HISTORY_ERROR)
    if quote:
        lines.append(quote)
    return [_section("\n".join(lines)), *more]


def error_preview(
    run: BatchRun, limit: int, block: BlockId, action: ActionId
) -> tuple[str | None, list[JsonDict]]:
    """A run's error as a quote of at most `limit` characters (None without an error) and, when that cut
    it, an actions block `<block>_<run id>` whose "Full error" button (`action`) shows it whole."""
    if not run.error:
        return None, []
    preview = clip(run.error, limit)
    quote = f"> {preview}".replace("\n", "\n> ")
    if preview == escape(run.error):
        return quote, []
    button = _button("Full error", action, str(run.id))
    return quote, [{"type": "actions", "block_id": f"{block.value}_{run.id}", "elements": [button]}]


def history_page(runs: list[BatchRun], *, offset: int, has_more: bool, search: str | None = None) -> Message:
    """One page of past runs, most recent first, with "Show more" when older runs remain; with `search`,
    the runs whose reason, identifiers or requester contain it."""
    matching = f" matching “{escape(search)}”" if search is not None else ""
    if not runs:
        text = "No batch runs yet." if offset == 0 else "No older runs."
        if search is not None:
            text = f"No {'' if offset == 0 else 'older '}runs{matching}."
        return Message(text=text, blocks=[_section(text)])
    shown = list(runs)
    while True:
        # Long errors and reasons: as many runs as fit in Slack's total size of blocks; "Show more" the rest.
        message = _history_blocks(shown, offset, has_more or len(shown) < len(runs), search, matching)
        if len(shown) <= 1 or within_budget(message.blocks):
            return message
        shown.pop()


def _history_blocks(
    runs: list[BatchRun], offset: int, has_more: bool, search: str | None, matching: str
) -> Message:
    first, last = offset + 1, offset + len(runs)
    lead = f"*Batch synchronizations*{matching} · runs {first}–{last}, most recent first"
    blocks: list[JsonDict] = [_section(lead)]
    for run in runs:
        blocks.append({"type": "divider"})
        blocks.extend(_history_entry(run))
    if has_more:
        more = (
            _button("Show more", ActionId.HISTORY_MORE, str(last))
            if search is None
            else _button("Show more", ActionId.HISTORY_SEARCH_MORE, f"{last} {search}")
        )
        blocks.append({"type": "actions", "block_id": BlockId.HISTORY_MORE.value, "elements": [more]})
    text = f"Batch synchronizations{matching} {first}–{last}"
    return Message(text=text, blocks=blocks[:MAX_BLOCKS])
