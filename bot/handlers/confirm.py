"""The form's confirmation step: Confirm (its submit) queues the draft and the form becomes *Run #N is
queued*; Preview changes first queues it as a preview (*Preview #N is queued*); Back returns to the
filled form. Closing the form (Cancel) queues nothing: the draft stays a
draft, which is never history and never runs.

Confirm answers in its acknowledgement (`response_action: update`), so it works before `ack()` like the
submission: the admin check (cached), the form's seal and one conditional update of the run; the Home tab
and the status message's link come after it (`bot.handlers.after_ack`). A double
Confirm sends two submissions; the run is queued by the first, the second finds it queued and shows it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages
from bot.confirm_modal import notice_view, queued_view
from bot.handlers.badge import form_closed
from bot.handlers.deps import Deps
from bot.handlers.views import FORM_UNREADABLE, home_url
from bot.ids import ActionId, CallbackId
from bot.modal import ModalMetadata
from bot.opened_views import OpenedViewsUnavailable
from bot.web_api import error_code, post_privately
from sync_engine import BatchRun, RunKind, RunNotFoundError, RunStatus

__all__ = ["PERMALINK_WAIT", "register"]

log = logging.getLogger(__name__)

#: Seconds "Run #N is queued" waits for the status message's permalink to show it (the status message is
#: posted by the status updater once the run is queued; a second or two, more on a loaded worker).
PERMALINK_WAIT = 30.0
_POLL = 0.25

FORM_UNCHECKED = (
    "This form could not be checked just now. Nothing was queued: start again from the app's Home tab "
    "or with /workday-resync."
)
UNAVAILABLE = messages.unavailable_run().text


def register(app: App, deps: Deps, on_queued: Callable[[WebClient, str, BatchRun], None]) -> None:
    """`on_queued(client, user_id, run)`: what else happens once Confirm queued a run (the Home tab
    switches to History)."""

    def draft_of(user_id: str, view: dict[str, Any]) -> tuple[ModalMetadata, BatchRun] | str:
        """The sealed metadata and the run of a confirmation step, or what to tell the admin instead."""
        if not deps.is_admin(user_id):
            return deps.refusal().text
        try:
            metadata = deps.forms.submitted(user_id, view)
        except OpenedViewsUnavailable as error:
            log.warning("Form check unavailable: Confirm refused", extra={"error": str(error)})
            return FORM_UNCHECKED
        if metadata is None or metadata.run_id is None:
            log.warning("Confirmation not opened for its user, or altered, refused", extra={"user": user_id})
            return FORM_UNREADABLE
        try:
            run = deps.service.get(metadata.run_id)
        except RunNotFoundError:
            return UNAVAILABLE
        if run.requested_by != user_id:  # sealed for its requester: only a forged form gets here
            return FORM_UNREADABLE
        return metadata, run

    @app.view(CallbackId.CONFIRM_MODAL.value)
    def on_confirm(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user_id = body["user"]["id"]
        found = draft_of(user_id, view)
        if isinstance(found, str):
            ack(response_action="update", view=notice_view(found))
            return
        _, draft = found
        if draft.status is RunStatus.CANCELLED:
            ack(response_action="update", view=notice_view(UNAVAILABLE))
            return
        run, queued_now = deps.service.confirm(draft.id)
        link = home_url(body)
        ack(
            response_action="update",
            view=deps.forms.sealed(user_id, queued_view(run, home_url=link, permalink=None)),
        )
        if queued_now:
            log.info("Run confirmed", extra={"run_id": run.id, "user": user_id})

        def work() -> None:
            if queued_now:
                on_queued(client, user_id, run)
            _show_permalink(deps, client, user_id, view["id"], run.id, link)

        deps.after_ack(body, work)

    @app.action(ActionId.PREVIEW_FIRST.value)
    def on_preview_first(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Queue the draft as a preview instead (the same conditional update as Confirm: of two clicks, of
        either button, the first decides); the form becomes *Preview #N is queued*."""
        ack()

        def work() -> None:
            user_id, view = body["user"]["id"], body.get("view")
            if not isinstance(view, dict) or not isinstance(view.get("id"), str):
                return  # a button of the form: without one, the payload is not Slack's
            if not deps.is_admin(user_id):
                channel_id = (deps.forms.metadata(user_id, view) or ModalMetadata("")).channel_id
                post_privately(client, channel_id or None, user_id, deps.refusal())
                return
            found = draft_of(user_id, view)
            if isinstance(found, str):
                _update(client, view["id"], notice_view(found))
                return
            _, draft = found
            if draft.status is RunStatus.CANCELLED:
                _update(client, view["id"], notice_view(UNAVAILABLE))
                return
            run, queued_now = deps.service.confirm(draft.id, kind=RunKind.PREVIEW)
            link = home_url(body)
            queued = queued_view(run, home_url=link, permalink=None)
            _update(client, view["id"], deps.forms.sealed(user_id, queued))
            if queued_now:
                log.info("Preview confirmed", extra={"run_id": run.id, "user": user_id})
                on_queued(client, user_id, run)
            _show_permalink(deps, client, user_id, view["id"], run.id, link)

        deps.after_ack(body, work)

    @app.action(ActionId.BACK.value)
    def on_back(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Back to the form, filled with the draft's identifiers; the draft is dropped (Synchronize
        stores a new one)."""
        ack()

        def work() -> None:
            user_id, view = body["user"]["id"], body.get("view")
            view = view if isinstance(view, dict) else {}
            if not deps.is_admin(user_id):
                # As for a keystroke: the form stays as it is, the refusal comes privately (in the channel
                # the form was sealed for, else in a direct message).
                channel_id = (deps.forms.metadata(user_id, view) or ModalMetadata("")).channel_id
                post_privately(client, channel_id or None, user_id, deps.refusal())
                return
            if not isinstance(view.get("id"), str):
                return  # Back is a button of the form: without one, the payload is not Slack's
            found = draft_of(user_id, view)
            if isinstance(found, str):
                _update(client, view["id"], notice_view(found))
                return
            metadata, draft = found
            deps.service.cancel(draft.id)
            form = deps.forms.render(
                user_id,
                channel_id=metadata.channel_id,
                identifier_type=draft.identifier_type,
                connection=metadata.connection,
                identifiers=draft.identifiers,
                default_channel=draft.slack_channel,
                rerun_of=draft.rerun_of,
                reason=draft.reason or "",
            )
            _update(client, view["id"], form, view.get("hash"))

        deps.after_ack(body, work)

    for link in (ActionId.OPEN_HOME, ActionId.OPEN_STATUS):
        # Link buttons open in the client; Slack still sends the click, which wants an acknowledgement.
        app.action(link.value)(lambda ack: ack())


def _update(client: WebClient, view_id: str, view: dict[str, Any], view_hash: str | None = None) -> None:
    try:
        client.views_update(view_id=view_id, view=view, hash=view_hash)
    except SlackApiError as error:
        # A hash conflict: the admin clicked twice and the first click's update is in; nothing to add.
        if error_code(error) != "hash_conflict" and not form_closed(error, view_id):
            raise


def _show_permalink(
    deps: Deps, client: WebClient, user_id: str, view_id: str, run_id: int, link: str
) -> None:
    """Once the status message is posted, add its permalink to "Run #N is queued" (if still open)."""
    deadline = time.monotonic() + PERMALINK_WAIT
    while True:
        run = deps.service.get(run_id)
        permalink = run.announcement.link
        if isinstance(permalink, str) and permalink:
            break
        if time.monotonic() >= deadline:
            log.warning("No status message to link from the queued form", extra={"run_id": run_id})
            return
        time.sleep(_POLL)
    _update(client, view_id, deps.forms.sealed(user_id, queued_view(run, home_url=link, permalink=permalink)))
