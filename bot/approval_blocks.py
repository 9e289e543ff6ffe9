"""A run awaiting a second admin's approval, in Block Kit (pure builders: data in, blocks out).

While the run waits, its status message asks another admin to **Approve** (primary, with the overwrite
sentence to confirm) or **Reject** (danger); once decided, the buttons give way to who decided, when.
History shows the same line.
"""

from __future__ import annotations

from typing import Any

from bot.ids import ActionId, BlockId
from bot.mrkdwn import date_token, plural, user_ref
from sync_engine import WARNING, ApprovalDecision, BatchRun, Refusal, RunStatus

__all__ = ["approval_blocks", "decision_line", "refusal_text"]

JsonDict = dict[str, Any]


def _confirm(title: str, text: str, confirm: str, style: str) -> JsonDict:
    return {
        "title": {"type": "plain_text", "text": title},
        "text": {"type": "mrkdwn", "text": text},
        "confirm": {"type": "plain_text", "text": confirm},
        "deny": {"type": "plain_text", "text": "Back"},
        "style": style,
    }


def _button(text: str, action: ActionId, run: BatchRun, style: str, confirm: JsonDict) -> JsonDict:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action.value,
        "value": str(run.id),
        "style": style,
        "confirm": confirm,
    }


def decision_line(run: BatchRun) -> str | None:
    """Who approved or rejected the run and when, or that it expired; None while it waits or when it
    needed no approval."""
    approval = run.approval
    if approval is None or approval.decision is None:
        return None
    when = date_token(approval.decided_at) if approval.decided_at else ""
    if approval.decision is ApprovalDecision.EXPIRED:
        return f":hourglass: Approval expired {when}: nobody approved it in time; nothing was written."
    who = user_ref(approval.decided_by or "")
    if approval.decision is ApprovalDecision.APPROVED:
        return f":white_check_mark: Approved by {who} {when}"
    return f":no_entry: Rejected by {who} {when}: nothing was written."


def approval_blocks(run: BatchRun) -> list[JsonDict]:
    """The status message's approval part: the request and its buttons while the run waits, then who
    decided; nothing for a run that needed no approval."""
    approval = run.approval
    if approval is None:
        return []
    if run.status is not RunStatus.PENDING_APPROVAL or approval.decision is not None:
        line = decision_line(run)
        return [{"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}] if line else []
    count = len(run.identifiers)
    ask = (
        f":raised_hand: *Awaiting approval:* this run names {plural(count, 'customer')}, more than "
        f"{approval.above}, so another admin must approve it before it starts. "
        f"{user_ref(run.requested_by)} cannot approve their own run. "
        f"It expires {date_token(approval.expires_at)} if nobody approves it."
    )
    approve = _confirm(f"Approve run #{run.id}?", WARNING.format(n=count), "Approve", "primary")
    reject = _confirm(
        f"Reject run #{run.id}?", "The run ends Rejected and nothing is written.", "Reject", "danger"
    )
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": ask}},
        {
            "type": "actions",
            "block_id": f"{BlockId.APPROVAL.value}_{run.id}",
            "elements": [
                _button("Approve", ActionId.APPROVE_RUN, run, "primary", approve),
                _button("Reject", ActionId.REJECT_RUN, run, "danger", reject),
            ],
        },
    ]


def refusal_text(run: BatchRun, reason: Refusal, verb: str) -> str:
    """Why an admin's Approve or Reject changed nothing (said to them alone)."""
    if reason is Refusal.OWN_RUN:
        return (
            f":no_entry_sign: You requested run #{run.id}: another admin must approve it. "
            "Nothing was changed. (You may reject it to withdraw it.)"
        )
    if reason is Refusal.EXPIRED:
        return (
            f":hourglass: Run #{run.id} expired: nobody approved it in time. Nothing was changed; "
            "request it again if it is still needed."
        )
    if reason is Refusal.DECIDED and (line := decision_line(run)):
        return f"Run #{run.id} was already decided: {line}. Nothing was changed."
    return f"Run #{run.id} does not await approval: nothing to {verb}."
