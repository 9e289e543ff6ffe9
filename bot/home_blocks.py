"""The app's Home tab, the product's window (pure builders: data in, views out): the header *Batch
synchronization | Workday*, the connection badge, two tab buttons, and the tab: **Synchronize** (a button
that opens the request form) or **History** (past runs, most recent first, a page at a time).

A Home view holds at most 100 blocks: a page of history is `HISTORY_PAGE` runs of at most three blocks
each, plus six. Which tab and page the view shows travels in its `private_metadata`, so every click and
every `app_home_opened` can publish it again as the admin left it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.approval_blocks import decision_line
from bot.block_budget import within_budget
from bot.ids import ActionId, BlockId
from bot.messages import HISTORY_REASON_PREVIEW, STATUS_TITLE, error_preview, reason_line, status_label
from bot.mrkdwn import date_token, escaped_chunks, user_ref
from bot.preview_blocks import kind_label
from sync_engine import MAX_IDENTIFIERS, BatchRun

__all__ = [
    "HISTORY_PAGE",
    "HomeState",
    "HomeTab",
    "error_modal",
    "home_view",
    "not_admin_view",
]

#: Runs per page of the History tab (3 blocks each at most: 45 of a view's 100).
HISTORY_PAGE = 15
#: Characters of a run's error shown in History; a longer one opens whole in a modal.
ERROR_PREVIEW = 300
#: Sections of the error modal (each up to `_SECTION_ROOM`): within 12,000 characters of blocks.
_ERROR_SECTIONS = 3
_SECTION_ROOM = 2900

JsonDict = dict[str, Any]


class HomeTab(StrEnum):
    SYNCHRONIZE = "synchronize"
    HISTORY = "history"


@dataclass(frozen=True, slots=True)
class HomeState:
    """What a published Home view shows: its tab and, on History, the offset of its page."""

    tab: HomeTab = HomeTab.SYNCHRONIZE
    offset: int = 0

    def dumps(self) -> str:
        return json.dumps({"tab": self.tab.value, "offset": self.offset})

    @classmethod
    def loads(cls, text: Any) -> HomeState:
        """The state of a view Slack sent back (anything unreadable: the Synchronize tab)."""
        try:
            data = json.loads(text) if isinstance(text, str) and text else {}
            offset = data.get("offset", 0)
            return cls(
                HomeTab(data.get("tab", HomeTab.SYNCHRONIZE.value)), offset if type(offset) is int else 0
            )
        except (ValueError, TypeError, AttributeError):
            return cls()


def _section(text: str) -> JsonDict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(text: str, action: ActionId, value: str = "", style: str | None = None) -> JsonDict:
    button: JsonDict = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action.value,
        "value": value or action.value,
    }
    if style:
        button["style"] = style
    return button


def _header(connection: str | None) -> list[JsonDict]:
    blocks: list[JsonDict] = [{"type": "header", "text": {"type": "plain_text", "text": STATUS_TITLE}}]
    if connection is not None:
        blocks.append(
            {
                "type": "context",
                "block_id": BlockId.CONNECTION.value,
                "elements": [{"type": "mrkdwn", "text": connection}],
            }
        )
    return blocks


def _home(blocks: list[JsonDict], state: HomeState) -> JsonDict:
    return {"type": "home", "private_metadata": state.dumps(), "blocks": blocks}


def not_admin_view() -> JsonDict:
    """What a user who is not an admin sees: a plain note, no runs, no buttons."""
    note = (
        ":lock: Batch synchronization re-imports customers from Workday, overwriting what we hold; it is "
        "for the finance admins this app's operators allow. There is nothing here for you."
    )
    return _home([*_header(None), _section(note)], HomeState())


def home_view(
    state: HomeState,
    *,
    connection: str,
    runs: Sequence[BatchRun] = (),
    has_more: bool = False,
    status_channel: str | None = None,
) -> JsonDict:
    """An admin's Home tab. `runs`: the History page at `state.offset` (most recent first)."""
    tabs = {
        "type": "actions",
        "block_id": BlockId.HOME_TABS.value,
        "elements": [
            _button(
                "Synchronize",
                ActionId.HOME_TAB_SYNCHRONIZE,
                style="primary" if state.tab is HomeTab.SYNCHRONIZE else None,
            ),
            _button(
                "History",
                ActionId.HOME_TAB_HISTORY,
                style="primary" if state.tab is HomeTab.HISTORY else None,
            ),
        ],
    }
    head = [*_header(connection), tabs, {"type": "divider"}]
    if state.tab is not HomeTab.HISTORY:
        return _home([*head, *_synchronize(status_channel)], state)
    shown = list(runs)
    while True:
        # Long errors and links: as many runs as fit in Slack's total size of blocks; Older shows the rest.
        blocks = [*head, *_history(shown, state.offset, has_more or len(shown) < len(runs))]
        if len(shown) <= 1 or within_budget(blocks):
            return _home(blocks, state)
        shown.pop()


def _synchronize(status_channel: str | None) -> list[JsonDict]:
    text = (
        f"Re-import up to {MAX_IDENTIFIERS} customers from Workday, by Workday ID or customer number, with "
        "*all* their invoices, payments and credit notes, overwriting what we hold. You confirm before "
        "anything is changed, then follow the run in History."
    )
    blocks = [
        _section(text),
        {
            "type": "actions",
            "block_id": BlockId.HOME_SYNCHRONIZE.value,
            "elements": [_button("Synchronize customers", ActionId.HOME_SYNCHRONIZE, style="primary")],
        },
    ]
    if status_channel:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Status messages and records files go to <#{status_channel}>.",
                    }
                ],
            }
        )
    return blocks


def _links(run: BatchRun) -> str:
    """The records file, the status message and the results file. Without a link to the records file
    itself (the status updater keeps one only when Slack gave it), it is reached through its thread."""
    records, thread = run.announcement.records_link, run.announcement.link
    links = []
    if records:
        links.append(f"<{records}|Records file>")
    elif thread:
        links.append(f"<{thread}|Records file (in the thread)>")
    elif run.slack_channel:
        links.append("Records file: in the status message's thread")
    if thread:
        links.append(f"<{thread}|Status message>")
    if run.announcement.results_link:
        links.append(f"<{run.announcement.results_link}|Results (CSV)>")
    return " · ".join(links)


def _entry(run: BatchRun) -> list[JsonDict]:
    counts = run.counts
    lines = [
        f"*Run #{run.id}*{_kind(run)} · {date_token(run.created_at)} · {status_label(run.status)} · "
        f"by {user_ref(run.requested_by)}",
        f"Customers *{counts.customers}* · Invoices *{counts.invoices}* · Payments *{counts.payments}* · "
        f"Credit notes *{counts.credit_notes}*",
    ]
    if run.reason:
        lines.append(reason_line(run.reason, HISTORY_REASON_PREVIEW))
    if links := _links(run):
        lines.append(links)
    if decided := decision_line(run):
        lines.append(decided)
    quote, more = error_preview(run, ERROR_PREVIEW, BlockId.HOME_ERROR, ActionId.HOME_FULL_ERROR)
    if quote:
        lines.append(quote)
    return [{"type": "divider"}, _section("\n".join(lines)), *more]


def _kind(run: BatchRun) -> str:
    """ " · Preview", " · Apply of #N" for runs that are not plain syncs."""
    kind = kind_label(run)
    return f" · {kind}" if kind else ""


def _history(runs: Sequence[BatchRun], offset: int, has_more: bool) -> list[JsonDict]:
    if not runs:
        return [_section("No batch runs yet." if offset == 0 else "No older runs.")]
    first, last = offset + 1, offset + len(runs)
    blocks = [_section(f"*History* · runs {first}–{last}, most recent first · dates in your time zone")]
    for run in runs:
        blocks.extend(_entry(run))
    paging = []
    if offset > 0:
        paging.append(_button("Newer", ActionId.HOME_NEWER, str(max(0, offset - HISTORY_PAGE))))
    if has_more:
        paging.append(_button("Older", ActionId.HOME_OLDER, str(offset + len(runs))))
    if paging:
        blocks.append({"type": "actions", "block_id": BlockId.HOME_PAGING.value, "elements": paging})
    return blocks


def error_modal(run: BatchRun) -> JsonDict:
    """A run's whole error, opened from History (cut only past ~8,700 characters)."""
    pieces = escaped_chunks(run.error or "", _SECTION_ROOM)
    if len(pieces) > _ERROR_SECTIONS:
        pieces = pieces[:_ERROR_SECTIONS]
        pieces[-1] = (
            pieces[-1][: _SECTION_ROOM - 60] + " … (the whole message is in the status message's thread)"
        )
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": f"Run #{run.id} error"[:24]},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [_section(f"*Run #{run.id}* ended in error:"), *(_section(piece) for piece in pieces)],
    }
