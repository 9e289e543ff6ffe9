"""`/workday-resync [status|history|help]`: open the request modal (or say why Workday is not connected),
show the connection status, list past runs, or explain usage."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import connection_blocks, messages
from bot.handlers.deps import Deps
from bot.handlers.form_opening import open_request_form
from bot.ids import COMMAND
from bot.messages import HISTORY_PAGE_SIZE
from bot.mrkdwn import unescape
from sync_engine import ConnectionStatus, ResyncError

__all__ = ["register", "send_history"]

log = logging.getLogger(__name__)


def send_history(deps: Deps, respond: Respond, *, offset: int, search: str | None = None) -> None:
    """Post one page of history (with `search`, of the runs matching it) as an ephemeral message (one
    more run is read to know if more remain)."""
    try:
        runs = deps.service.history(limit=HISTORY_PAGE_SIZE + 1, offset=offset, search=search)
    except ResyncError as error:  # a search too long
        respond(text=str(error), response_type="ephemeral", replace_original=False)
        return
    page = messages.history_page(
        runs[:HISTORY_PAGE_SIZE], offset=offset, has_more=len(runs) > HISTORY_PAGE_SIZE, search=search
    )
    respond(**page.kwargs(), response_type="ephemeral", replace_original=False)


def register(app: App, deps: Deps) -> None:
    @app.command(COMMAND)
    def on_command(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        arrived = time.monotonic()
        # Acknowledge first: Slack's 3 seconds cover the whole round trip, and the trigger_id as well.
        ack()

        def work() -> None:
            user_id = body.get("user_id")
            words = (body.get("text") or "").strip().lower().split()
            if not words:
                # The form needs the check: it runs while a cold admin check asks Slack (users.info). For a
                # non-admin it costs at most one check per cache period, shared by everyone.
                deps.connection.start_check()
            if not deps.is_admin(user_id):
                respond(**deps.refusal().kwargs(), response_type="ephemeral")
                return
            if not words:

                def blocked(status: ConnectionStatus) -> None:
                    respond(**connection_blocks.not_connected(status).kwargs(), response_type="ephemeral")

                open_request_form(
                    deps,
                    client,
                    user_id=body["user_id"],
                    trigger_id=body["trigger_id"],
                    channel_id=body["channel_id"],
                    arrived=arrived,
                    blocked=blocked,
                )
                return
            if words[0] == "status":
                # Already acknowledged: a check that is not cached only delays this ephemeral answer.
                status = deps.connection.status()
                respond(**connection_blocks.status_message(status).kwargs(), response_type="ephemeral")
                return
            if words[0] == "history":
                # The words after it, as typed: a search (`%` and `_` match themselves).
                search = unescape(body.get("text") or "").strip().split(maxsplit=1)[1:]
                send_history(deps, respond, offset=0, search=search[0] if search else None)
                return
            respond(**messages.usage().kwargs(), response_type="ephemeral")

        deps.after_ack(body, work)
