"""The two shortcuts: the global *Batch synchronize Workday customers* opens the request form with a
picker for the status channel; the message shortcut *Resync customers listed here* opens it filled with
the message's identifiers, its status going to the message's channel. Each checks the user is an admin
(a non-admin gets a note in a modal, through the same trigger_id).
"""

from __future__ import annotations

import time
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.confirm_modal import notice_view
from bot.handlers.deps import Deps
from bot.handlers.form_opening import open_request_form
from bot.ids import ShortcutId
from bot.message_identifiers import identifiers_in_message

__all__ = ["register"]


def register(app: App, deps: Deps) -> None:
    def open_form(
        body: dict[str, Any], client: WebClient, arrived: float, channel_id: str, text: str
    ) -> None:
        user_id, trigger_id = body["user"]["id"], body["trigger_id"]
        if not deps.is_admin(user_id):
            client.views_open(trigger_id=trigger_id, view=notice_view(deps.refusal().text))
            return

        identifier_type, identifiers = identifiers_in_message(text)
        open_request_form(
            deps,
            client,
            user_id=user_id,
            trigger_id=trigger_id,
            channel_id=channel_id,
            arrived=arrived,
            identifiers=identifiers,
            identifier_type=identifier_type,
        )

    @app.shortcut(ShortcutId.GLOBAL.value)
    def on_global(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        arrived = time.monotonic()
        ack()
        # No conversation: the form asks where the status goes.
        deps.after_ack(body, lambda: open_form(body, client, arrived, "", ""))

    @app.shortcut(ShortcutId.MESSAGE.value)
    def on_message(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        arrived = time.monotonic()
        ack()
        channel = body.get("channel") if isinstance(body.get("channel"), dict) else {}
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        text = (message or {}).get("text")
        channel_id = str((channel or {}).get("id") or "")
        typed = text if isinstance(text, str) else ""
        deps.after_ack(body, lambda: open_form(body, client, arrived, channel_id, typed))
