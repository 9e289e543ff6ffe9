"""Clicks and keystrokes: the modal's live counter and history paging."""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import connection_blocks, messages
from bot.handlers.badge import form_closed, show_outcome
from bot.handlers.commands import send_history
from bot.handlers.deps import Deps
from bot.ids import ActionId
from bot.modal import counter_text, read_modal, shown_counter
from bot.web_api import error_code, post_privately
from sync_engine import RunNotFoundError

__all__ = ["int_value", "register"]

log = logging.getLogger(__name__)

#: Views remembered for ordering keystroke events and for refusing a non-admin once per modal.
_REMEMBERED_VIEWS = 1000


class _RecentViews:
    """Per modal, the newest keystroke seen: an older event must not overwrite a newer counter."""

    def __init__(self) -> None:
        self._latest: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def see(self, view_id: str, action_ts: float) -> bool:
        """Record an event; True if it is the newest one of its view so far."""
        with self._lock:
            newest = action_ts >= self._latest.get(view_id, 0.0)
            if newest:
                self._latest[view_id] = action_ts
                self._latest.move_to_end(view_id)
                while len(self._latest) > _REMEMBERED_VIEWS:
                    self._latest.popitem(last=False)
            return newest

    def is_newest(self, view_id: str, action_ts: float) -> bool:
        with self._lock:
            return action_ts >= self._latest.get(view_id, 0.0)


#: Button values are run ids and offsets we wrote: ASCII digits as `str(int)` writes them. `int()` alone
#: also reads "１" (fullwidth), " 2", "+2" and "2_0"; anything beyond a database integer is forged too.
_MAX_VALUE = 2**31 - 1
_WRITTEN_INT = re.compile(r"0|[1-9][0-9]{0,9}")


def int_value(body: dict[str, Any]) -> int | None:
    try:
        value = body["actions"][0]["value"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(value, str) or _WRITTEN_INT.fullmatch(value) is None:
        return None
    number = int(value)
    return number if number <= _MAX_VALUE else None


def _search_page(body: dict[str, Any]) -> tuple[int, str] | None:
    """The offset and search of a search's "Show more" (its value: "OFFSET TEXT")."""
    try:
        value = body["actions"][0]["value"]
    except (KeyError, IndexError, TypeError):
        return None
    offset, _, search = value.partition(" ") if isinstance(value, str) else ("", "", "")
    if _WRITTEN_INT.fullmatch(offset) is None or int(offset) > _MAX_VALUE or not search.strip():
        return None
    return int(offset), search


def register(app: App, deps: Deps) -> None:
    recent = _RecentViews()
    refused_views: set[str] = set()

    def refuse(respond: Respond) -> None:
        respond(**deps.refusal().kwargs(), response_type="ephemeral", replace_original=False)

    def on_counter(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        deps.after_ack(body, lambda: recount(body, client))

    def recount(body: dict[str, Any], client: WebClient) -> None:
        """Live "N customers selected": recount both inputs and update the modal if the number changed
        (or the connection check it shows as under way is done)."""
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("id"), str):
            return  # a keystroke comes from a modal: without one, the payload is not Slack's
        user_id = body["user"]["id"]
        metadata = deps.forms.metadata(user_id, view)
        if not deps.is_admin(user_id):
            if view["id"] not in refused_views:  # once per modal, not on every keystroke
                if len(refused_views) >= _REMEMBERED_VIEWS:
                    refused_views.clear()
                refused_views.add(view["id"])
                post_privately(client, metadata.channel_id if metadata else None, user_id, deps.refusal())
            return
        if metadata is None:
            log.warning("Keystroke on a form with altered private_metadata ignored", extra={"user": user_id})
            return
        try:
            action_ts = float(body["actions"][0].get("action_ts") or 0)
        except (TypeError, ValueError):
            action_ts = 0.0
        if not recent.see(view["id"], action_ts):
            return  # a newer keystroke of this modal was already counted
        modal = read_modal((view.get("state") or {}).get("values") or {})
        count = modal.count()
        badge = metadata.connection
        if badge == connection_blocks.CHECKING:
            # The form opened before its check was done: show the outcome if it is in by now.
            badge = connection_blocks.badge(deps.connection.status_within(0))
        if shown_counter(view) == counter_text(count) and badge == metadata.connection:
            return

        def render(badge_text: str | None) -> dict[str, Any]:
            return deps.forms.render(
                user_id,
                channel_id=metadata.channel_id,
                count=count,
                identifier_type=modal.identifier_type,
                connection=badge_text,
                rerun_of=metadata.rerun_of,
            )

        try:
            try:
                shown = client.views_update(view_id=view["id"], hash=view.get("hash"), view=render(badge))
            except SlackApiError as error:
                if error_code(error) != "hash_conflict":
                    raise
                # Another keystroke's update landed first; if this event is still the newest, its count wins.
                if not recent.is_newest(view["id"], action_ts):
                    return
                shown = client.views_update(view_id=view["id"], view=render(badge))
        except SlackApiError as error:
            if not form_closed(error, view["id"]):
                raise
            return  # the admin closed the form while we counted: nothing left to update
        if badge == connection_blocks.CHECKING:
            # This update put "checking" back (over the opener's hash): it must replace it itself.
            show_outcome(deps, client, shown["view"], render)

    for action in (ActionId.IDENTIFIERS, ActionId.MORE_IDENTIFIERS, ActionId.ID_TYPE):
        app.action(action.value)(on_counter)

    @app.action(ActionId.HISTORY_MORE.value)
    def on_history_more(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        deps.after_ack(body, lambda: history_more(body, respond))

    def history_more(body: dict[str, Any], respond: Respond) -> None:
        if not deps.is_admin(body["user"]["id"]):
            refuse(respond)
            return
        send_history(deps, respond, offset=max(0, int_value(body) or 0))

    @app.action(ActionId.HISTORY_SEARCH_MORE.value)
    def on_search_more(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        deps.after_ack(body, lambda: search_more(body, respond))

    def search_more(body: dict[str, Any], respond: Respond) -> None:
        if not deps.is_admin(body["user"]["id"]):
            refuse(respond)
            return
        page = _search_page(body)
        if page is not None:  # else not a value this app wrote
            send_history(deps, respond, offset=page[0], search=page[1])

    @app.action(ActionId.HISTORY_ERROR.value)
    def on_history_error(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        deps.after_ack(body, lambda: full_error(body, respond))

    def full_error(body: dict[str, Any], respond: Respond) -> None:
        if not deps.is_admin(body["user"]["id"]):
            refuse(respond)
            return
        run_id = int_value(body)
        try:
            run = deps.service.get(run_id if run_id is not None else -1)
        except RunNotFoundError:
            respond(**messages.unavailable_run().kwargs(), replace_original=False)
            return
        respond(**messages.full_error(run).kwargs(), response_type="ephemeral", replace_original=False)
