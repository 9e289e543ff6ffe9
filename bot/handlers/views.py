"""The modal's submission: validate, store a draft run, then ask the admin to confirm it.

Validation errors must travel in the acknowledgement itself (`response_action: errors`), so this is the
one listener that works before `ack()`: reading the form, the admin check (cached; a users.info call is
bounded by the admin client's short timeout) and storing the draft are all quick.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import messages
from bot.handlers.deps import Deps
from bot.ids import BlockId, CallbackId
from bot.modal import ModalMetadata, read_modal, validate
from bot.slack import post_privately
from sync_engine.errors import IdentifierError

__all__ = ["FORM_UNREADABLE", "register"]

log = logging.getLogger(__name__)

FORM_UNREADABLE = (
    "This form could not be read (it was changed after it was opened). Nothing was stored: close it and "
    "run /workday-resync again."
)
# The channel the command came from, as Slack names conversations (C…, G…, D…).
_CHANNEL_ID = re.compile(r"[A-Z0-9_]{1,64}")


def _genuine_metadata(text: str | None) -> bool:
    """Whether `private_metadata` is what `request_modal` wrote: JSON naming a channel id.

    Slack keeps it out of users' reach, so anything else arrived forged; the run must not be posted
    to whatever it names.
    """
    try:
        data = json.loads(text or "")
    except ValueError:
        return False
    channel = data.get("channel_id") if isinstance(data, dict) else None
    return isinstance(channel, str) and _CHANNEL_ID.fullmatch(channel) is not None


def register(app: App, deps: Deps) -> None:
    @app.view(CallbackId.REQUEST_MODAL.value)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user_id = body["user"]["id"]
        if not deps.is_admin(user_id):
            ack(response_action="errors", errors={BlockId.IDENTIFIERS.value: messages.refusal().text})
            return
        modal = read_modal((view.get("state") or {}).get("values") or {})
        identifiers, errors = validate(modal)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        if not _genuine_metadata(view.get("private_metadata")):
            log.warning("Modal submitted with altered private_metadata refused", extra={"user": user_id})
            ack(response_action="errors", errors={BlockId.IDENTIFIERS.value: FORM_UNREADABLE})
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
