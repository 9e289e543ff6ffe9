"""A finished preview's buttons in its status message: Apply this preview, Discard (admins only).

Each is acknowledged at once; the work comes after the ack. The store decides (one decision a preview:
`RunService.previews()`), so a double click or a redelivered click applies once; the clicker who did not
decide is told what was decided. Apply queues an apply run (or holds it for another admin's approval,
above RESYNC_APPROVAL_ABOVE), which gets its own status message like any run; both show what was
decided in the preview's message. An expired or unfinished preview, or a user who is not an admin, gets
a private answer and nothing changes.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import messages, preview_blocks
from bot.handlers.deps import Deps
from bot.ids import ActionId
from bot.mrkdwn import date_token, escape, user_ref
from bot.web_api import post_privately
from sync_engine import (
    BatchRun,
    PreviewAction,
    PreviewDecision,
    PreviewExpiredError,
    PreviewRefusedError,
    PreviewView,
    RunNotFoundError,
)

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.action(ActionId.APPLY_PREVIEW.value)
    def on_apply(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        deps.after_ack(body, lambda: _click(deps, client, body, PreviewAction.APPLY))

    @app.action(ActionId.DISCARD_PREVIEW.value)
    def on_discard(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        deps.after_ack(body, lambda: _click(deps, client, body, PreviewAction.DISCARD))


def _private(client: WebClient, channel_id: str | None, user_id: str, text: str) -> None:
    post_privately(client, channel_id, user_id, messages.Message(text=text, blocks=[_section(text)]))


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _click(deps: Deps, client: WebClient, body: dict[str, Any], action: PreviewAction) -> None:
    user_id = body["user"]["id"]
    channel = body.get("channel")
    channel_id = channel.get("id") if isinstance(channel, dict) else None
    channel_id = channel_id if isinstance(channel_id, str) else None
    if not deps.is_admin(user_id):
        post_privately(client, channel_id, user_id, deps.refusal())
        return
    actions = body.get("actions")
    clicked = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    named = preview_blocks.parse_button_value(clicked.get("value"))
    if named is None:
        return  # not a value our message holds: not Slack's payload
    run_id, expires_at = named
    previews = deps.service.previews()
    try:
        before = previews.view(run_id)
        if action is PreviewAction.APPLY:
            outcome = previews.apply(run_id, user_id, slack_channel=before.report.run.slack_channel)
            decision, decided_now = outcome.decision, outcome.decided_now
            shown = previews.view(run_id)
        else:
            decision, decided_now = previews.discard(run_id, user_id)
            shown = PreviewView(before.report, decision)  # the diff as it was shown: its data is dropped
    except PreviewExpiredError as error:
        expired = preview_blocks.expired_text(run_id, error.expired_at or expires_at)
        _private(client, channel_id, user_id, expired)
        return
    except RunNotFoundError:
        _private(client, channel_id, user_id, messages.unavailable_run().text)
        return
    except PreviewRefusedError as error:
        _private(client, channel_id, user_id, f":no_entry_sign: {escape(str(error))} Nothing was changed.")
        return
    if decided_now:
        log.info(
            "Preview decided",
            extra={"run_id": run_id, "action": decision.action.value, "user": user_id},
        )
        _show(client, before.report.run, shown)
    else:
        _private(client, channel_id, user_id, _already(decision))


def _already(decision: PreviewDecision) -> str:
    when = date_token(decision.decided_at)
    who = user_ref(decision.decided_by)
    if decision.action is PreviewAction.APPLY:
        return (
            f"Preview #{decision.preview_run_id} was already applied by {who} {when} "
            f"(run #{decision.apply_run_id}). Nothing else was changed."
        )
    return f"Preview #{decision.preview_run_id} was already discarded by {who} {when}. Nothing was changed."


def _show(client: WebClient, run: BatchRun, shown: PreviewView) -> None:
    """The preview's status message, ending with what was decided instead of its buttons."""
    if run.slack_channel is None or run.slack_message_ts is None:
        return
    message = messages.status_message(run, shown)
    client.chat_update(channel=run.slack_channel, ts=run.slack_message_ts, **message.kwargs())
