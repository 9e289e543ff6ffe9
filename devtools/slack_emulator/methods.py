"""The Web API: one function per method, and `dispatch`, which first does what Slack does for every call
(authentication, rate tiers, scopes) in that order. Errors are Slack's own names (docs.slack.dev/methods/*),
raised as `ApiError`."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools.slack_emulator.limits import (
    MAX_VIEW_BYTES,
    MAX_VIEW_STACK,
    blocks_too_long,
    message_problems,
    view_problems,
)
from devtools.slack_emulator.state import ApiError, OpenView, Workspace
from devtools.slack_emulator.views import assign_ids, carried_values, fresh_values, view_object

__all__ = [
    "CHANNEL_ID_RULE",
    "FORM_ONLY_METHODS",
    "METHODS",
    "ApiCall",
    "Reply",
    "checked_view",
    "close_views",
    "dispatch",
    "register_method",
    "replace_view",
    "stack_view",
    "truthy",
    "validated_content",
]

#: Methods that read no JSON body (docs.slack.dev/methods/*.json lack `json_input_supported`): their
#: arguments must come as a form or a query string.
FORM_ONLY_METHODS = frozenset({"users.info", "chat.getPermalink", "files.getUploadURLExternal", "files.info"})
CHANNEL_ID_RULE = "input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$"


@dataclass
class ApiCall:
    method: str
    #: Form, query or JSON parameters; JSON-string fields (blocks, view, files) already decoded if valid.
    params: dict[str, Any]
    #: Set by a method for the transcript: what a reader should know that Slack does not say.
    note: str = ""

    def text(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    def flag(self, name: str) -> bool:
        return truthy(self.params.get(name))


def truthy(value: Any) -> bool:
    """A boolean parameter: JSON true, or "true"/"1" in a form."""
    return value in (True, 1, "1", "true")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: dict[str, Any]
    retry_after: int | None = None


Handler = Callable[[Workspace, ApiCall], dict[str, Any]]


def dispatch(ws: Workspace, call: ApiCall, token: str | None) -> Reply:
    """Answer one Web API call like slack.com: auth, injected failure, rate tier, scope, then the method."""
    try:
        handler = METHODS.get(call.method)
        if handler is None:
            raise ApiError("unknown_method")
        if not token:
            raise ApiError("not_authed")
        if token not in (ws.bot_token, ws.app_token):
            raise ApiError("invalid_auth")
        if (token == ws.app_token) != (call.method in APP_TOKEN_METHODS):
            raise ApiError("not_allowed_token_type")
        injected = ws.knobs.fail_next.pop(call.method, None)
        if injected == "ratelimited":
            raise ApiError("ratelimited", status=429, retry_after=1)
        if injected is not None:
            raise ApiError(injected)
        wait = ws.limiter.method_wait(
            call.method, ws.knobs.rate_limits.get(call.method), ws.knobs.rate_window
        )
        if wait is not None:
            raise ApiError("ratelimited", status=429, retry_after=wait)
        needed = _SCOPES.get(call.method, ())
        if needed and not set(needed) & ws.knobs.scopes:
            raise ApiError("missing_scope", needed=needed[0], provided=",".join(sorted(ws.knobs.scopes)))
        with ws.lock:
            return Reply(200, {"ok": True, **handler(ws, call)})
    except ApiError as failure:
        return Reply(
            failure.status, {"ok": False, "error": failure.error, **failure.extra}, failure.retry_after
        )


# ---- shared pieces ----------------------------------------------------------------------------------------


def random_block_id() -> str:
    """An id like the ones Slack makes up for blocks and elements sent without one."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(5))


def validated_content(
    params: dict[str, Any], *, text_limit: int | None = None, total_limit: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    """The text and blocks of a message (API call or response_url post), checked as Slack checks them.
    `total_limit`: refuse blocks too long in total (response_url posts were reported to pass)."""
    text = params.get("text")
    text = "" if text is None else str(text)
    blocks = params.get("blocks")
    if isinstance(blocks, str) or (blocks is not None and not isinstance(blocks, list)):
        raise ApiError("invalid_blocks_format")
    if blocks is not None:
        problems = message_problems(blocks)
        if problems:
            raise ApiError("invalid_blocks", errors=problems, messages=problems)
        if total_limit and blocks_too_long(blocks):
            raise ApiError("msg_blocks_too_long")
    if not text and not blocks and not params.get("attachments"):
        raise ApiError("no_text")
    if text_limit is not None and len(text) > text_limit:
        raise ApiError("msg_too_long")
    return text, assign_ids(blocks or [], random_block_id)


def _view_argument(call: ApiCall) -> dict[str, Any]:
    view = call.params.get("view")
    if view is None:
        raise ApiError("invalid_arguments", messages=["missing required field: view"])
    return checked_view(view)


def checked_view(view: Any) -> dict[str, Any]:
    """`view` if Slack would show it (views.*, response_action update/push), else Slack's error."""
    if not isinstance(view, dict):
        raise ApiError(
            "invalid_arguments", messages=["failed to parse view as JSON object [json-pointer:/view]"]
        )
    problems = view_problems(view)
    if problems:
        raise ApiError("invalid_arguments", messages=problems)
    if len(json.dumps(view).encode()) > MAX_VIEW_BYTES:
        raise ApiError("view_too_large")
    return view


def _check_external_id(ws: Workspace, view: dict[str, Any], replacing: str | None = None) -> None:
    external_id = view.get("external_id")
    if external_id and any(
        opened.view.get("external_id") == external_id and opened.id != replacing
        for opened in ws.views.values()
    ):
        raise ApiError("duplicate_external_id")


def stack_view(ws: Workspace, user_id: str, view: dict[str, Any], previous: OpenView | None) -> OpenView:
    """Open `view` for the user on top of `previous` (views.push, response_action push), or as a new root."""
    view_id = ws.new_id("V")
    stored = dict(view, blocks=assign_ids(view["blocks"], random_block_id))
    opened = OpenView(
        id=view_id,
        user=user_id,
        view=stored,
        hash=ws.new_hash(),
        root_view_id=previous.root_view_id if previous else view_id,
        previous_view_id=previous.id if previous else None,
        values=fresh_values(stored["blocks"]),
    )
    ws.views[view_id] = opened
    ws.stacks[user_id].append(view_id)
    return opened


def _view_reply(ws: Workspace, opened: OpenView) -> dict[str, Any]:
    return {
        "view": view_object(opened, team_id=ws.team_id, app_id=ws.app_id, bot_id=ws.bot_id, with_state=False)
    }


def replace_view(ws: Workspace, opened: OpenView, view: dict[str, Any]) -> None:
    """Put `view` in place of an open one (views.update, response_action update): same id, new hash,
    typed input kept where block and action ids are unchanged."""
    stored = dict(view, blocks=assign_ids(view["blocks"], random_block_id))
    opened.values, opened.touched = carried_values(opened, stored["blocks"])
    opened.view = stored
    opened.hash = ws.new_hash()


def close_views(ws: Workspace, user_id: str, *, all_of_them: bool) -> None:
    """Close the user's top modal, or the whole stack."""
    stack = ws.stacks[user_id]
    while stack:
        ws.views.pop(stack.pop(), None)
        if not all_of_them:
            return


# ---- methods ----------------------------------------------------------------------------------------------


def auth_test(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": "Emulated Workspace",
        "user": ws.bot.name,
        "team_id": ws.team_id,
        "user_id": ws.bot.id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def apps_connections_open(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    """A Socket Mode WebSocket URL; this emulator serves no WebSocket (the app's start-up check leaves
    the URL unused, as it may: each URL is good for one connection and expires)."""
    ticket = secrets.token_hex(16)
    return {"url": f"{ws.base_url.replace('http', 'ws', 1)}/link/?ticket={ticket}&app_id={ws.app_id}"}


def users_info(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    user = ws.users.get(call.text("user") or "")
    if user is None:
        raise ApiError("user_not_found")
    return {"user": user.to_api(ws.team_id)}


def conversations_open(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    channel_id = call.text("channel")
    if channel_id:
        channel = ws.channel(channel_id)
        if not channel.is_im:
            raise ApiError("method_not_supported_for_channel_type")
        existed = True
    else:
        users = [user_id for user_id in (call.text("users") or "").split(",") if user_id]
        if not users:
            raise ApiError("users_list_not_supplied")
        if len(users) > 8:
            raise ApiError("too_many_users")
        if any(user_id not in ws.users or user_id == ws.bot.id for user_id in users):
            raise ApiError("user_not_found")
        before = set(ws.channels)
        channel = ws.dm(*users)
        existed = channel.id in before
    reply: dict[str, Any] = {"channel": {"id": channel.id}}
    if call.flag("return_im"):
        reply["channel"].update({"is_im": len(channel.members or ()) == 1, "is_open": True, "created": 0})
    if existed:
        reply.update({"no_op": True, "already_open": True})
    return reply


def views_open(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    view = _view_argument(call)
    _check_external_id(ws, view)
    user_id = ws.exchange_trigger(call.text("trigger_id"))
    # A new root modal replaces whatever the user had open.
    close_views(ws, user_id, all_of_them=True)
    return _view_reply(ws, stack_view(ws, user_id, view, None))


def views_push(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    view = _view_argument(call)
    _check_external_id(ws, view)
    user_id = ws.exchange_trigger(call.text("trigger_id"))
    stack = ws.stacks[user_id]
    if not stack:
        raise ApiError("not_found")
    if len(stack) >= MAX_VIEW_STACK:
        raise ApiError("push_limit_reached")
    return _view_reply(ws, stack_view(ws, user_id, view, ws.views[stack[-1]]))


def views_update(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    view_id, external_id = call.text("view_id"), call.text("external_id")
    if not view_id and not external_id:
        raise ApiError("invalid_arguments", messages=["missing required field: view_id or external_id"])
    opened = next(
        (
            candidate
            for candidate in ws.views.values()
            if (view_id and candidate.id == view_id)
            or (not view_id and external_id and candidate.view.get("external_id") == external_id)
        ),
        None,
    )
    if opened is None:
        raise ApiError("not_found")
    view = _view_argument(call)
    _check_external_id(ws, view, replacing=opened.id)
    expected = call.text("hash")
    if expected and expected != opened.hash:
        raise ApiError("hash_conflict")
    replace_view(ws, opened, view)
    return _view_reply(ws, opened)


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "apps.connections.open": apps_connections_open,
    "users.info": users_info,
    "conversations.open": conversations_open,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
}


def register_method(name: str, handler: Handler, scopes: tuple[str, ...] = ()) -> None:
    """Add a Web API method defined in another module (`scopes`: any one of them is needed)."""
    METHODS[name] = handler
    if scopes:
        _SCOPES[name] = scopes


#: Methods that take the app-level token and no other (docs.slack.dev: apps.connections.open).
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})

#: The scopes a bot token needs, any one of them (docs.slack.dev/methods/*.json `scope.bot`).
_SCOPES: dict[str, tuple[str, ...]] = {
    "users.info": ("users:read",),
    "conversations.open": ("im:write", "mpim:write", "channels:manage", "groups:write"),
}
