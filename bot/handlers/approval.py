"""Approve and Reject on the status message of a run awaiting a second admin's approval.

Admins only (anyone else is refused privately, nothing changes). The decision is the engine's one
conditional update (`RunService.approvals`), so two admins clicking at once, or Slack redelivering a
click, give one outcome; the others are told privately what happened instead. The status message itself
is brought up to date by the status updater (the engine's run events): the buttons give way to who decided.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot import approval_blocks, messages
from bot.handlers.actions import int_value
from bot.handlers.deps import Deps
from bot.ids import ActionId
from sync_engine import ApprovalRefusedError, RunNotFoundError

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    def tell(respond: Respond, text: str) -> None:
        respond(text=text, response_type="ephemeral", replace_original=False)

    def decide(body: dict[str, Any], respond: Respond, *, approve: bool) -> None:
        user_id = body["user"]["id"]
        if not deps.is_admin(user_id):
            respond(**deps.refusal().kwargs(), response_type="ephemeral", replace_original=False)
            return
        run_id = int_value(body)
        approvals = deps.service.approvals()
        verb = "approve" if approve else "reject"
        try:
            if run_id is None:  # a value we never wrote: a forged click
                raise RunNotFoundError("The click names no run.")
            run = approvals.approve(run_id, user_id) if approve else approvals.reject(run_id, user_id)
        except RunNotFoundError:
            respond(**messages.unavailable_run().kwargs(), response_type="ephemeral", replace_original=False)
            return
        except ApprovalRefusedError as refused:
            run = deps.service.get(refused.run_id)
            tell(respond, approval_blocks.refusal_text(run, refused.reason, verb))
            return
        log.info(f"Run {verb}d in Slack", extra={"run_id": run.id, "user": user_id})
        done = "approved: it is queued" if approve else "rejected: nothing is written"
        tell(respond, f"You {done} (run #{run.id}).")

    @app.action(ActionId.APPROVE_RUN.value)
    def on_approve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        deps.after_ack(body, lambda: decide(body, respond, approve=True))

    @app.action(ActionId.REJECT_RUN.value)
    def on_reject(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        deps.after_ack(body, lambda: decide(body, respond, approve=False))
