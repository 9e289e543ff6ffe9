"""What the status message adds for previews and applies, and a run's kind in history (pure builders).

A finished preview shows, in total and per customer (the most changes first), the documents applying it
would add, change (with the sum of the amount changes) and remove, per type; customers with no change
are counted on one line. It fits in the room the rest of the message leaves (blocks and characters):
the customers that do not are counted ("and N more customers"). It ends *Preview ready* with **Apply
this preview** (danger, confirmed with the overwrite sentence) and **Discard**, or with what was decided.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.block_budget import BLOCKS_BUDGET, blocks_chars
from bot.ids import ActionId, BlockId
from bot.mrkdwn import date_token, escape, plural, user_ref
from sync_engine import (
    DOCUMENT_KINDS,
    WARNING,
    BatchRun,
    CustomerDiff,
    KindDiff,
    PreviewAction,
    PreviewView,
    RunKind,
    RunStatus,
)

__all__ = ["button_value", "expired_text", "kind_label", "parse_button_value", "run_blocks"]

JsonDict = dict[str, Any]

KIND_LABELS = {"invoices": "Invoices", "payments": "Payments", "credit_notes": "Credit notes"}
#: Blocks of a message (Slack: 50).
MAX_BLOCKS = 50
#: Characters of customer lines in one section (Slack allows 3,000 a section).
SECTION_ROOM = 2900


def kind_label(run: BatchRun) -> str | None:
    """How history names a run that is not a plain sync: "Preview", "Apply of #N", "Restore of #N",
    "Re-run of #N"."""
    if run.kind is RunKind.SYNC:
        return f"Re-run of #{run.rerun_of}" if run.rerun_of is not None else None
    if run.source_run_id is not None:
        return f"{run.kind.label} of #{run.source_run_id}"
    return run.kind.label


def button_value(run_id: int, expires_at: datetime | None) -> str:
    """Apply's and Discard's value: the preview, and when it expires (only to word the answer; whether
    it expired is the store's to say)."""
    expires = int(expires_at.timestamp()) if expires_at is not None else None
    return json.dumps({"run": run_id, "expires": expires})


def parse_button_value(value: object) -> tuple[int, datetime | None] | None:
    """The preview and its expiry named by a button's value; None if it is not one of ours."""
    try:
        data = json.loads(value) if isinstance(value, str) else {}
        run_id, expires = data["run"], data["expires"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(run_id, int) or isinstance(run_id, bool) or run_id < 1:
        return None
    if isinstance(expires, int) and not isinstance(expires, bool) and 0 < expires < 2**33:
        return run_id, datetime.fromtimestamp(expires, UTC)
    return run_id, None


def expired_text(run_id: int, expired_at: datetime | None) -> str:
    when = f" at {date_token(expired_at)}" if expired_at is not None else ""
    return f":hourglass: Preview #{run_id} expired{when}; run a new preview. Nothing was changed."


def run_blocks(run: BatchRun, preview: PreviewView | None, *, around: list[JsonDict]) -> list[JsonDict]:
    """What the status message of a preview or an apply adds before its footer, in the room the rest of
    the message (`around`) leaves within 50 blocks and `BLOCKS_BUDGET` characters."""
    if run.kind is RunKind.APPLY and run.source_run_id is not None:
        return [
            _context(
                f":inbox_tray: Applies preview #{run.source_run_id}: "
                "writes what it fetched, with no Workday request"
            )
        ]
    if run.kind is not RunKind.PREVIEW:
        return []
    if preview is None or run.status is not RunStatus.COMPLETED:
        return [
            _context(
                ":mag: Preview: fetches every customer and writes nothing; shows what applying would change"
            )
        ]
    ending = _ending(preview)
    if preview.decision is not None and not preview.report.customers:
        return ending  # discarded (its staged data, and so its diff, dropped)
    head = [_section(_totals_text(preview))]
    fixed = head + ending
    lines = _customer_lines(preview.report.customers)
    room_blocks = MAX_BLOCKS - len(around) - len(fixed)
    room_chars = BLOCKS_BUDGET - blocks_chars([*around, *fixed])
    return head + _fit(lines, room_blocks, room_chars) + ending


def _section(text: str) -> JsonDict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> JsonDict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _amount(delta: Decimal) -> str:
    sign = "+" if delta > 0 else ""
    return f"{sign}{delta:,f}"


def _kind_text(kind: KindDiff) -> str:
    """ "2 new · 1 changed (+25.50) · 1 removed"."""
    changed = f"{kind.changed} changed"
    if kind.amount_delta != Decimal(0):
        changed += f" ({_amount(kind.amount_delta)})"
    return f"{kind.new} new · {changed} · {kind.removed} removed"


def _kinds_text(kinds: dict[str, KindDiff]) -> str:
    parts = [f"{KIND_LABELS[name]} {_kind_text(kinds.get(name, KindDiff()))}" for name in DOCUMENT_KINDS]
    return "; ".join(parts)


def _totals_text(preview: PreviewView) -> str:
    report = preview.report
    changed = sum(1 for diff in report.customers if diff.changes)
    customers = plural(len(report.customers), "customer")
    until = ""
    if report.expires_at is not None and preview.decision is None:
        until = f" Can be applied until {date_token(report.expires_at)}."
    return (
        f":mag: *Preview: what applying it would change* ({customers}, {changed} with changes).{until}\n"
        f"*Total:* {_kinds_text(report.totals)}"
    )


def _note(diff: CustomerDiff) -> str:
    if diff.new_customer:
        return " (new customer)"
    return " (details changed)" if diff.customer_changed else ""


def _customer_lines(customers: list[CustomerDiff]) -> list[tuple[str, int]]:
    """Each customer with changes on a line, then those without on one; with how many each counts."""
    changed = [diff for diff in customers if diff.changes]
    lines = [(f"• *{escape(diff.label)}*{_note(diff)}: {_kinds_text(diff.kinds)}", 1) for diff in changed]
    if unchanged := [diff for diff in customers if not diff.changes]:
        labels = ", ".join(escape(diff.label) for diff in unchanged)
        lines.append((f"• No change ({len(unchanged)}): {labels}"[:SECTION_ROOM], len(unchanged)))
    return lines


def _fit(lines: list[tuple[str, int]], room_blocks: int, room_chars: int) -> list[JsonDict]:
    """The lines in as few sections as fit; the customers of those that do not are counted."""
    # Room kept for the count of what did not fit.
    reserve = blocks_chars([_more(100)])
    blocks: list[JsonDict] = []
    pending: list[str] = []
    for index, (line, _) in enumerate(lines):
        if len("\n".join([*pending, line])) <= SECTION_ROOM:
            next_blocks, next_pending = blocks, [*pending, line]
        else:
            next_blocks, next_pending = [*blocks, _section("\n".join(pending))], [line]
        trial = [*next_blocks, _section("\n".join(next_pending))]
        # Each block joined to the message adds a separator (", ") to its JSON.
        if len(trial) > room_blocks - 1 or blocks_chars(trial) + 2 * len(trial) > room_chars - reserve:
            shown = [*blocks, _section("\n".join(pending))] if pending else blocks
            return [*shown, _more(sum(count for _, count in lines[index:]))]
        blocks, pending = next_blocks, next_pending
    return [*blocks, _section("\n".join(pending))] if pending else blocks


def _more(customers: int) -> JsonDict:
    return _context(f"… and {plural(customers, 'more customer')} (the message has no room for them)")


def _ending(preview: PreviewView) -> list[JsonDict]:
    decision = preview.decision
    report = preview.report
    if decision is None:
        if report.expires_at is None:
            return [
                _context(":hourglass: This preview expired; its staged data is dropped. Run a new preview.")
            ]
        value = button_value(report.run.id, report.expires_at)
        return [
            _section(f":white_check_mark: *Preview ready* (run #{report.run.id})."),
            {
                "type": "actions",
                "block_id": BlockId.PREVIEW_ACTIONS.value,
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Apply this preview"},
                        "action_id": ActionId.APPLY_PREVIEW.value,
                        "value": value,
                        "style": "danger",
                        "confirm": {
                            "title": {"type": "plain_text", "text": "Apply this preview?"},
                            "text": {"type": "plain_text", "text": WARNING.format(n=len(report.customers))},
                            "confirm": {"type": "plain_text", "text": "Apply"},
                            "deny": {"type": "plain_text", "text": "Cancel"},
                            "style": "danger",
                        },
                    },
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Discard"},
                        "action_id": ActionId.DISCARD_PREVIEW.value,
                        "value": value,
                    },
                ],
            },
        ]
    when = date_token(decision.decided_at)
    if decision.action is PreviewAction.DISCARD:
        return [
            _section(
                f":wastebasket: *Discarded* by {user_ref(decision.decided_by)} {when}: nothing was written."
            )
        ]
    if preview.apply_awaits_approval:
        applied = (
            f":raised_hand: *Apply requested* by {user_ref(decision.decided_by)} {when}: "
            f"run #{decision.apply_run_id} awaits another admin's approval before it writes this preview "
            "(its status message asks)."
        )
    else:
        applied = (
            f":arrow_forward: *Applied* by {user_ref(decision.decided_by)} {when}: "
            f"run #{decision.apply_run_id} writes this preview."
        )
    blocks = [_section(applied)]
    if preview.left_out:
        labels = ", ".join(escape(diff.label) for diff in preview.left_out)
        blocks.append(
            _section(
                f":warning: *Left out, written by another run since the preview ({len(preview.left_out)}):* "
                f"{labels[: SECTION_ROOM - 100]}"
            )
        )
    return blocks
