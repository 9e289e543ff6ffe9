"""The app's Home tab on Slack's side: `views.publish` (a `home` view per user, at most 100 blocks, its
`hash` guarding against a stale publish), and the Events API envelope in which Slack tells the app a user
opened it (`app_home_opened`). Registered with the Web API on import."""

from __future__ import annotations

import secrets
import time
from typing import Any

from devtools.slack_emulator.methods import (
    ApiCall,
    checked_view,
    random_block_id,
    register_method,
    replace_view,
)
from devtools.slack_emulator.state import ApiError, OpenView, Workspace
from devtools.slack_emulator.views import assign_ids, fresh_values, view_object

__all__ = ["event_envelope", "home_view", "views_publish"]


def views_publish(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    """docs.slack.dev/reference/methods/views.publish: `user_id`, `view` (type home), optional `hash`."""
    user_id = call.text("user_id")
    if not user_id:
        raise ApiError("invalid_arguments", messages=["missing required field: user_id"])
    view = call.params.get("view")
    if view is None:
        raise ApiError("invalid_arguments", messages=["missing required field: view"])
    view = checked_view(view)
    if view.get("type") != "home":
        raise ApiError("invalid_arguments", messages=["must be home [json-pointer:/view/type]"])
    user = ws.users.get(user_id)
    if user is None or user.is_bot or user.deleted:
        raise ApiError("user_not_found")
    published = ws.home_views.get(user_id)
    expected = call.text("hash")
    if published is None:
        if expected:
            raise ApiError("hash_conflict")
        stored = dict(view, blocks=assign_ids(view["blocks"], random_block_id))
        view_id = ws.new_id("V")
        published = OpenView(
            id=view_id,
            user=user_id,
            view=stored,
            hash=ws.new_hash(),
            root_view_id=view_id,
            previous_view_id=None,
            values=fresh_values(stored["blocks"]),
        )
        ws.home_views[user_id] = published
    else:
        if expected and expected != published.hash:
            raise ApiError("hash_conflict")
        replace_view(ws, published, view)
    return {"view": home_view(ws, published, with_state=False)}


def home_view(ws: Workspace, published: OpenView, *, with_state: bool = True) -> dict[str, Any]:
    """A Home view as Slack shows it (API answers, event and payload `view` fields)."""
    view = view_object(
        published, team_id=ws.team_id, app_id=ws.app_id, bot_id=ws.bot_id, with_state=with_state
    )
    for modal_only in ("submit", "close", "title", "clear_on_close", "notify_on_close"):
        view.pop(modal_only, None)
    return view


def event_envelope(ws: Workspace, event: dict[str, Any], verification_token: str) -> dict[str, Any]:
    """The Events API's outer event (docs.slack.dev/apis/events-api: "Callback field overview")."""
    return {
        "token": verification_token,
        "team_id": ws.team_id,
        "api_app_id": ws.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": ws.bot.id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }


register_method("views.publish", views_publish)
