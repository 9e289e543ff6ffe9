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
    MAX_SNIPPET_BYTES,
    MAX_TEXT,
    MAX_UPDATE_TEXT,
    MAX_VIEW_BYTES,
    MAX_VIEW_STACK,
    message_problems,
    view_problems,
)
from devtools.slack_emulator.state import ApiError, Channel, FileUpload, OpenView, Workspace
from devtools.slack_emulator.views import assign_ids, carried_values, fresh_values, view_object

__all__ = [
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
_CHANNEL_ID_RULE = "input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$"


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
        if token != ws.bot_token:
            raise ApiError("invalid_auth")
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
    params: dict[str, Any], *, text_limit: int | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The text and blocks of a message (API call or response_url post), checked as Slack checks them."""
    text = params.get("text")
    text = "" if text is None else str(text)
    blocks = params.get("blocks")
    if isinstance(blocks, str) or (blocks is not None and not isinstance(blocks, list)):
        raise ApiError("invalid_blocks_format")
    if blocks is not None:
        problems = message_problems(blocks)
        if problems:
            raise ApiError("invalid_blocks", errors=problems, messages=problems)
    if not text and not blocks and not params.get("attachments"):
        raise ApiError("no_text")
    if text_limit is not None and len(text) > text_limit:
        raise ApiError("msg_too_long")
    return text, assign_ids(blocks or [], random_block_id)


def _bot_may_post(ws: Workspace, channel: Channel) -> None:
    # chat:write.public lets a bot post in public channels it has not joined; nothing else does.
    public_ok = not channel.is_private and "chat:write.public" in ws.knobs.scopes
    if not channel.bot_member and not public_ok:
        raise ApiError("not_in_channel")


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


def chat_post_message(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    channel = ws.find_channel(call.text("channel"))
    text, blocks = validated_content(call.params)
    _bot_may_post(ws, channel)
    wait = ws.limiter.channel_wait(channel.id, ws.knobs.channel_post_rate, ws.knobs.channel_post_burst)
    if wait is not None:
        raise ApiError("ratelimited", status=429, retry_after=wait)
    warning = None
    if len(text) > MAX_TEXT:
        # Slack cuts really long texts and says so (changelog 2018-04-truncating-really-long-messages).
        text, warning = text[:MAX_TEXT], "message_truncated"
    message, call.note = ws.post(channel, text=text, blocks=blocks, thread_ts=call.text("thread_ts"))
    reply: dict[str, Any] = {
        "channel": channel.id,
        "ts": message.ts,
        "message": ws.message_to_api(channel, message),
    }
    if warning:
        reply.update({"warning": warning, "response_metadata": {"warnings": [warning]}})
    return reply


def chat_post_ephemeral(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    if call.text("channel") in ws.users:
        # Unlike chat.postMessage, a user id is no channel here.
        raise ApiError("channel_not_found")
    channel = ws.find_channel(call.text("channel"))
    user_id = call.text("user") or ""
    if user_id not in ws.users or not channel.has_member(user_id):
        raise ApiError("user_not_in_channel")
    text, blocks = validated_content(call.params, text_limit=MAX_TEXT)
    _bot_may_post(ws, channel)
    thread_ts = call.text("thread_ts")
    if thread_ts is not None and not channel.replies(thread_ts):
        # "Ephemeral messages in threads are only shown if there is already an active thread."
        call.note = f"thread {thread_ts} has no replies yet: Slack shows this ephemeral message to no one"
        return {"message_ts": ws.new_ts()}
    ephemeral = ws.post_ephemeral(channel, user_id, text=text, blocks=blocks, thread_ts=thread_ts)
    return {"message_ts": ephemeral.ts}


def chat_update(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    channel = ws.channel(call.text("channel"))
    message = channel.find(call.text("ts") or "")
    if message is None or message.subtype == "tombstone":
        raise ApiError("message_not_found")
    if message.user != ws.bot.id:
        raise ApiError("cant_update_message")
    text, blocks = validated_content(call.params, text_limit=MAX_UPDATE_TEXT)
    # What is not sent is not kept: an update without blocks leaves a text-only message.
    message.text, message.blocks = text, blocks
    message.edited += 1
    return {
        "channel": channel.id,
        "ts": message.ts,
        "text": text,
        "message": ws.message_to_api(channel, message),
    }


def chat_delete(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    channel = ws.channel(call.text("channel"))
    message = channel.find(call.text("ts") or "")
    if message is None or message.subtype == "tombstone":
        raise ApiError("message_not_found")
    if message.user != ws.bot.id:
        raise ApiError("cant_delete_message")
    ws.delete(channel, message)
    return {"channel": channel.id, "ts": message.ts}


def chat_get_permalink(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    channel = ws.channel(call.text("channel"))
    message = channel.find(call.text("message_ts") or "")
    if message is None:
        raise ApiError("message_not_found")
    permalink = f"https://{ws.team_domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if not channel.is_top_level(message):
        permalink += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": permalink}


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


def files_get_upload_url_external(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    filename = call.text("filename")
    if not filename:
        raise ApiError("invalid_arguments", messages=["missing required field: filename"])
    try:
        length = int(call.text("length") or "0")
    except ValueError:
        raise ApiError("invalid_arguments", messages=["expected integer [json-pointer:/length]"]) from None
    if length <= 0:
        raise ApiError("missing_argument")
    if call.text("snippet_type") and length > MAX_SNIPPET_BYTES:
        raise ApiError("snippet_too_large")
    upload = FileUpload(ws.new_id("F"), filename, length)
    ws.files[upload.id] = upload
    return {"upload_url": f"{ws.base_url}/upload/{upload.id}", "file_id": upload.id}


def files_complete_upload_external(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    entries = call.params.get("files")
    if not isinstance(entries, list) or not entries or not all(isinstance(entry, dict) for entry in entries):
        raise ApiError(
            "invalid_arguments", messages=["files must be a JSON array of {id, title} [json-pointer:/files]"]
        )
    uploads: list[FileUpload] = []
    for entry in entries:
        upload = ws.files.get(str(entry.get("id")))
        if upload is None or upload.content is None or upload.completed:
            raise ApiError("file_not_found")
        uploads.append(upload)
    channels = _share_targets(ws, call)
    thread_ts = call.text("thread_ts")
    if thread_ts and len(channels) != 1:
        raise ApiError(
            "invalid_arguments", messages=["thread_ts needs exactly one channel [json-pointer:/thread_ts]"]
        )
    if any(not channel.bot_member for channel in channels):
        raise ApiError("not_in_channel")
    comment = call.text("initial_comment") or ""
    for entry, upload in zip(entries, uploads, strict=True):
        upload.title = str(entry.get("title") or upload.name)
        upload.completed = True
    for channel in channels:
        files = [{"id": upload.id, "name": upload.name, "title": upload.title} for upload in uploads]
        message, call.note = ws.post(channel, text=comment, blocks=[], thread_ts=thread_ts, files=files)
        for upload in uploads:
            upload.shares.append((channel.id, message.ts, thread_ts))
    for upload in uploads:
        upload.initial_comment = comment or None
    return {"files": [{"id": upload.id, "title": upload.title} for upload in uploads]}


def _share_targets(ws: Workspace, call: ApiCall) -> list[Channel]:
    named: list[tuple[str, str]] = []
    if call.text("channel_id"):
        named.append(("channel_id", call.text("channel_id") or ""))
    channels = call.params.get("channels")
    values = channels if isinstance(channels, list) else (call.text("channels") or "").split(",")
    named.extend(("channels", str(value)) for value in values if value)
    targets: list[Channel] = []
    for argument, value in named:
        if value in ws.channels:
            targets.append(ws.channels[value])
        elif (
            value.startswith("#") or value in ws.users or any(ch.name == value for ch in ws.channels.values())
        ):
            # A name or a user id where an ID is needed (PostHog#47718, bolt-js#2115).
            raise ApiError("invalid_arguments", messages=[f"{_CHANNEL_ID_RULE} [json-pointer:/{argument}]"])
        else:
            raise ApiError("channel_not_found")
    return targets


def files_info(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    upload = ws.files.get(call.text("file") or "")
    if upload is None or not upload.completed:
        raise ApiError("file_not_found")
    shares: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for channel_id, ts, thread_ts in upload.shares:
        kind = "private" if ws.channels[channel_id].is_private else "public"
        share = {"ts": ts, "thread_ts": thread_ts} if thread_ts else {"ts": ts}
        shares.setdefault(kind, {}).setdefault(channel_id, []).append(share)
    url = f"{ws.base_url}/files/{upload.id}/{upload.name}"
    return {
        "file": {
            "id": upload.id,
            "created": upload.created,
            "timestamp": upload.created,
            "name": upload.name,
            "title": upload.title,
            "mimetype": "text/plain",
            "filetype": "text",
            "pretty_type": "Plain Text",
            "user": ws.bot.id,
            "size": len(upload.content or b""),
            "mode": "hosted",
            "is_external": False,
            "is_public": "public" in shares,
            "url_private": url,
            "url_private_download": url,
            "permalink": f"https://{ws.team_domain}.slack.com/files/{ws.bot.id}/{upload.id}/{upload.name}",
            "channels": [channel_id for channel_id, _, _ in upload.shares],
            "shares": shares,
        }
    }


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "conversations.open": conversations_open,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.getPermalink": chat_get_permalink,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
    "files.info": files_info,
}


def register_method(name: str, handler: Handler, scopes: tuple[str, ...] = ()) -> None:
    """Add a Web API method defined in another module (`scopes`: any one of them is needed)."""
    METHODS[name] = handler
    if scopes:
        _SCOPES[name] = scopes


#: The scopes a bot token needs, any one of them (docs.slack.dev/methods/*.json `scope.bot`).
_SCOPES: dict[str, tuple[str, ...]] = {
    "users.info": ("users:read",),
    "conversations.open": ("im:write", "mpim:write", "channels:manage", "groups:write"),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "files.info": ("files:read",),
}
