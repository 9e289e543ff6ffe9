"""The modal's submission: validate, store a draft run, then ask the admin to confirm it.

Validation errors must travel in the acknowledgement itself (`response_action: errors`), so this is the
one listener that works before `ack()`: reading the form, the (cached) admin check and storing the
draft are all quick.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import messages
from bot.handlers.deps import Deps
from bot.ids import BlockId, CallbackId
from bot.modal import ModalMetadata, read_modal, validate
from bot.slack import post_privately
from sync_engine.errors import IdentifierError

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.view(CallbackId.REQUEST_MODAL.value)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user_id = body["user"]["id"]
        if not deps.is_admin(user_id):
            ack(response_action="errors", errors={BlockId.IDENTIFIERS.value: messages.refusal().text})
            return
        modal = read_modal(view["state"]["values"])
        identifiers, errors = validate(modal)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        channel_id = ModalMetadata.loads(view.get("private_metadata")).channel_id or None
        # Only the draft's id travels through Slack from here on (button values), never the identifiers.
        try:
            run = deps.service.create_draft(
                modal.identifier_type, identifiers, requested_by=user_id, slack_channel=channel_id
            )
        except IdentifierError as error:  # the engine's own check (the same rules as `validate`)
            ack(response_action="errors", errors={BlockId.IDENTIFIERS.value: str(error)})
            return
        ack()
        log.info("Draft run stored", extra={"run_id": run.id, "identifiers": len(identifiers)})
        post_privately(client, channel_id, user_id, messages.confirmation(run.id, len(run.identifiers)))
