"""`/workday-resync [status|history|help]`: open the request modal (or say why Workday is not connected),
show the connection status, list past runs, or explain usage."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import connection_blocks, messages
from bot.handlers.badge import show_outcome
from bot.handlers.deps import Deps
from bot.ids import COMMAND
from bot.messages import HISTORY_PAGE_SIZE

__all__ = ["register", "send_history"]

log = logging.getLogger(__name__)

#: Seconds after the command arrived until which a connection check is waited for before the form opens
#: anyway: the trigger_id lives 3 s, and views.open needs the rest.
CHECK_DEADLINE = 2.3


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
        arrived = time.monotonic()
        # Acknowledge first: Slack's 3 seconds cover the whole round trip, and the trigger_id as well.
        ack()
        deps.after_ack(body, lambda: _answer(deps, client, respond, body, arrived))


def _answer(deps: Deps, client: WebClient, respond: Respond, body: dict[str, Any], arrived: float) -> None:
    """The command's answer, after its ack: the admin check, then the form, status, history or help."""
    user_id = body.get("user_id")
    words = (body.get("text") or "").strip().lower().split()
    if not words:
        # The form needs the check: it runs while a cold admin check asks Slack (users.info). For a
        # non-admin it costs at most one check per cache period, shared by everyone.
        deps.connection.start_check()
    if not deps.is_admin(user_id):
        respond(**messages.refusal().kwargs(), response_type="ephemeral")
        return
    if not words:
        _open_request(deps, client, respond, body, arrived)
        return
    if words[0] == "status":
        # Already acknowledged: a check that is not cached only delays this ephemeral answer.
        status = deps.connection.status()
        respond(**connection_blocks.status_message(status).kwargs(), response_type="ephemeral")
        return
    if words[0] == "history":
        send_history(deps, respond, offset=0)
        return
    respond(**messages.usage().kwargs(), response_type="ephemeral")


def _open_request(
    deps: Deps, client: WebClient, respond: Respond, body: dict[str, Any], arrived: float
) -> None:
    """Open the form with the connection badge, or explain why Workday is not connected.

    The trigger_id expires 3 s after the command: when no recent check is cached and the one under way is
    not done by `CHECK_DEADLINE`, the form opens with a "checking" badge and is updated once it is done.
    """
    channel_id, user_id = body["channel_id"], body["user_id"]
    status = deps.connection.status_within(max(0.0, CHECK_DEADLINE - (time.monotonic() - arrived)))
    if status is not None and status.blocks_runs:
        respond(**connection_blocks.not_connected(status).kwargs(), response_type="ephemeral")
        return
    view = deps.forms.render(user_id, channel_id=channel_id, connection=connection_blocks.badge(status))
    opened = deps.forms.open(client, user_id, body["trigger_id"], view)
    if status is None:
        show_outcome(
            deps,
            client,
            opened,
            lambda text: deps.forms.render(user_id, channel_id=channel_id, connection=text),
        )
