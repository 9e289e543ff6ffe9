"""The modal's submission: validate, acknowledge, then store a draft run and ask the admin to confirm it.

Validation errors must travel in the acknowledgement itself (`response_action: errors`), so this listener
checks before its `ack()`: the admin check (cached; a users.info call is bounded by the admin client's
short timeout), the form's provenance (`bot.forms`) and reading the form. Storing the draft waits for the
store's writer (a run's customer transaction on SQLite), so it comes after the ack, as the confirmation
does; if it fails, the admin is told that nothing was stored.

A submission is stored once: its draft is keyed on the view id and hash, so the same submission again (a
replay the replay guard no longer remembers, e.g. after a Redis restart) gets the same draft's answer and
stores nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import messages
from bot.handlers.deps import Deps
from bot.ids import BlockId, CallbackId
from bot.modal import ModalInput, read_modal, validate
from bot.opened_views import OpenedViewsUnavailable
from bot.web_api import post_privately

__all__ = ["FORM_UNCHECKED", "FORM_UNREADABLE", "register"]

log = logging.getLogger(__name__)

FORM_UNREADABLE = (
    "This form could not be read (it was changed after it was opened). Nothing was stored: close it and "
    "run /workday-resync again."
)
FORM_UNCHECKED = "This form could not be checked just now. Nothing was stored: submit it again in a moment."


def register(app: App, deps: Deps) -> None:
    @app.view(CallbackId.REQUEST_MODAL.value)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user_id = body["user"]["id"]
        if not deps.is_admin(user_id):
            ack(response_action="errors", errors={BlockId.IDENTIFIERS.value: messages.refusal().text})
            return
        try:
            # A form the app opened for this user, its metadata (the channel) as the app sealed it.
            metadata = deps.forms.submitted(user_id, view)
        except OpenedViewsUnavailable as error:
            log.warning("Form check unavailable: submission refused", extra={"error": str(error)})
            ack(response_action="errors", errors={BlockId.IDENTIFIERS.value: FORM_UNCHECKED})
            return
        if metadata is None:
            log.warning(
                "Submission of a form not opened for its user, or altered, refused", extra={"user": user_id}
            )
            ack(response_action="errors", errors={BlockId.IDENTIFIERS.value: FORM_UNREADABLE})
            return
        modal = read_modal((view.get("state") or {}).get("values") or {})
        identifiers, errors = validate(modal)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        channel_id = metadata.channel_id or None
        deps.after_ack(
            body, lambda: _store_draft(deps, client, view, user_id, channel_id, modal, identifiers)
        )


def _store_draft(
    deps: Deps,
    client: WebClient,
    view: dict[str, Any],
    user_id: str,
    channel_id: str | None,
    modal: ModalInput,
    identifiers: list[str],
) -> None:
    """Store the submission's draft (once) and show its requester the confirmation."""
    # Only the draft's id travels through Slack from here on (button values), never the identifiers.
    try:
        run, stored = deps.service.create_draft_once(
            f"slack-view:{view.get('id')}:{view.get('hash')}",
            modal.identifier_type,
            identifiers,
            requested_by=user_id,
            slack_channel=channel_id,
        )
    except Exception:
        post_privately(client, channel_id, user_id, messages.not_stored())
        raise
    if stored:
        log.info("Draft run stored", extra={"run_id": run.id, "identifiers": len(identifiers)})
    else:
        log.info("Repeated submission: its run returned, nothing stored", extra={"run_id": run.id})
    # A repeated submission gets its run's answer as it stands now (to confirm, queued, cancelled).
    post_privately(client, channel_id, user_id, messages.outcome(run))
