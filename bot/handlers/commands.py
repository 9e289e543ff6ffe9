"""`/workday-resync [history|help]`: open the request modal, list past runs, or explain usage."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import messages
from bot.handlers.deps import Deps
from bot.ids import COMMAND
from bot.messages import HISTORY_PAGE_SIZE
from bot.modal import request_modal

__all__ = ["register", "send_history"]

log = logging.getLogger(__name__)


def send_history(deps: Deps, respond: Respond, *, offset: int) -> None:
    """Post one page of history as an ephemeral message (one more run is read to know if more remain)."""
    runs = deps.service.history(limit=HISTORY_PAGE_SIZE + 1, offset=offset)
    page = messages.history_page(
        runs[:HISTORY_PAGE_SIZE], offset=offset, has_more=len(runs) > HISTORY_PAGE_SIZE
    )
    respond(**page.kwargs(), response_type="ephemeral", replace_original=False)


def register(app: App, deps: Deps) -> None:
    @app.command(COMMAND)
    def on_command(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        # Acknowledge first: Slack's 3 seconds cover the whole round trip, and the trigger_id as well.
        ack()
        user_id = body.get("user_id")
        words = (body.get("text") or "").strip().lower().split()
        if not deps.is_admin(user_id):
            respond(**messages.refusal().kwargs(), response_type="ephemeral")
            return
        if not words:
            problem = deps.workday_problem()
            if problem is not None:
                respond(**messages.not_configured(problem).kwargs(), response_type="ephemeral")
                return
            client.views_open(
                trigger_id=body["trigger_id"], view=request_modal(channel_id=body["channel_id"])
            )
            return
        if words[0] == "history":
            send_history(deps, respond, offset=0)
            return
        respond(**messages.usage().kwargs(), response_type="ephemeral")
