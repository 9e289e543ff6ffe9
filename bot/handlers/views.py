"""The modal's submission: validate, store a draft run, then turn the form into its confirmation.

Validation errors and the confirmation must travel in the acknowledgement itself (`response_action:
errors` / `update`), so this listener works before its `ack()`, as Confirm does (every other listener
leaves its work for after the ack, `bot.handlers.after_ack`): the admin check (cached; a users.info call is
bounded by the admin client's short timeout), the form's provenance (`bot.forms`), reading the form and
storing the draft, whose id the confirmation carries.

A submission is stored once: its draft is keyed on the view id and hash, so the same submission again (a
replay the replay guard no longer remembers, e.g. after a Redis restart) gets the same draft's answer (the
form as the draft stands now: to confirm, queued or cancelled) and stores nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App

from bot.confirm_modal import home_link, step_view
from bot.handlers.deps import Deps
from bot.ids import BlockId, CallbackId
from bot.modal import read_modal, validate
from bot.opened_views import OpenedViewsUnavailable
from sync_engine import IdentifierError, ReasonError, clean_reason

__all__ = ["FORM_UNCHECKED", "FORM_UNREADABLE", "home_url", "register"]

log = logging.getLogger(__name__)

FORM_UNREADABLE = (
    "This form could not be read (it was changed after it was opened). Nothing was stored: close it and "
    "run /workday-resync again."
)
PICK_A_CHANNEL = "Pick the channel where the run's status message and records file go."
FORM_UNCHECKED = "This form could not be checked just now. Nothing was stored: submit it again in a moment."


def register(app: App, deps: Deps) -> None:
    @app.view(CallbackId.REQUEST_MODAL.value)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        if not deps.is_admin(user_id):
            ack(response_action="errors", errors={BlockId.IDENTIFIERS.value: deps.refusal().text})
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
        try:
            # Checked with the list, so both errors show at once; the run service checks it again.
            clean_reason(modal.reason, required=deps.settings.resync_require_reason)
        except ReasonError as error:
            errors = {**errors, BlockId.REASON.value: str(error)}
        if errors:
            ack(response_action="errors", errors=errors)
            return
        channel_id = metadata.channel_id or modal.status_channel
        if channel_id is None:  # a form with the picker: the Slack client requires a pick, a forgery not
            ack(response_action="errors", errors={BlockId.STATUS_CHANNEL.value: PICK_A_CHANNEL})
            return
        # Only the draft's id travels through Slack from here on (button values), never the identifiers.
        try:
            run, stored = deps.service.create_draft_once(
                f"slack-view:{view.get('id')}:{view.get('hash')}",
                modal.identifier_type,
                identifiers,
                requested_by=user_id,
                slack_channel=channel_id,
                rerun_of=metadata.rerun_of,
                reason=modal.reason,
            )
        except IdentifierError as error:  # the engine's own check (the same rules as `validate`)
            ack(response_action="errors", errors={BlockId.IDENTIFIERS.value: str(error)})
            return
        except ReasonError as error:  # the run service's own check (its RESYNC_REQUIRE_REASON)
            ack(response_action="errors", errors={BlockId.REASON.value: str(error)})
            return
        answer = step_view(
            run,
            channel_id=metadata.channel_id,
            connection=metadata.connection,
            home_url=home_url(body),
        )
        ack(response_action="update", view=deps.forms.sealed(user_id, answer))
        if stored:
            log.info("Draft run stored", extra={"run_id": run.id, "identifiers": len(identifiers)})
        else:
            log.info("Repeated submission: its run returned, nothing stored", extra={"run_id": run.id})


def home_url(body: dict[str, Any]) -> str:
    """The deep link to this app's Home tab in the workspace the payload came from."""
    team = body.get("team") if isinstance(body.get("team"), dict) else {}
    return home_link(str((team or {}).get("id") or ""), str(body.get("api_app_id") or ""))
