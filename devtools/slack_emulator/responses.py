"""Messages an app sends without the Web API: posts to a response_url, and the message in the body of its
answer to a slash command. Both go where the interaction happened, for the one user, or in the channel."""

from __future__ import annotations

import json
import time
from typing import Any

from devtools.slack_emulator.limits import MAX_TEXT
from devtools.slack_emulator.methods import Reply, truthy, validated_content
from devtools.slack_emulator.state import ApiError, Channel, Ephemeral, Message, ResponseTarget, Workspace

__all__ = ["apply_response", "post_to_response_url"]


def post_to_response_url(ws: Workspace, token: str, body: bytes) -> tuple[Reply, dict[str, Any]]:
    """Answer a POST to a response_url: the reply and the payload as understood (for the record)."""
    payload: dict[str, Any] = {}
    try:
        with ws.lock:
            target = ws.responses.get(token)
            if target is None:
                raise ApiError("invalid_url", status=404)
            if time.monotonic() - target.issued > ws.knobs.response_url_ttl:
                raise ApiError("expired_url", status=404)
            if target.uses >= ws.knobs.response_url_uses:
                raise ApiError("used_url", status=404)
            try:
                payload = json.loads(body)
            except ValueError:
                raise ApiError("invalid_payload", status=400) from None
            if not isinstance(payload, dict):
                raise ApiError("invalid_payload", status=400)
            apply_response(ws, target, payload)
            target.uses += 1
            return Reply(200, {"ok": True}), {"for": f"{target.user} in {target.channel}", **payload}
    except ApiError as failure:
        status = failure.status if failure.status != 200 else 400
        return Reply(status, {"ok": False, "error": failure.error, **failure.extra}), payload


def apply_response(ws: Workspace, target: ResponseTarget, payload: dict[str, Any]) -> None:
    """Show a response message: replace or delete the original, else post a new one (ephemeral unless
    response_type is in_channel). Raises ApiError when Slack would refuse it."""
    with ws.lock:
        channel = ws.channel(target.channel)
        original = _original(ws, target, channel)
        if truthy(payload.get("delete_original")):
            if original is None:
                raise ApiError("message_not_found", status=404)
            if isinstance(original, Ephemeral):
                ws.ephemerals[target.user].remove(original)
            else:
                ws.delete(channel, original)
            return
        text, blocks = validated_content(payload, text_limit=MAX_TEXT, total_limit=False)
        if truthy(payload.get("replace_original")) and original is not None:
            original.text, original.blocks = text, blocks
            original.edited += 1
            return
        thread_ts = payload.get("thread_ts")
        if payload.get("response_type") == "in_channel":
            # A response_url posts in the channel even where the bot is no member.
            message, _ = ws.post(channel, text=text, blocks=blocks, thread_ts=thread_ts)
            ts, is_ephemeral = message.ts, False
        else:
            ts = ws.post_ephemeral(channel, target.user, text=text, blocks=blocks, thread_ts=thread_ts).ts
            is_ephemeral = True
        if target.original_ts is None:
            # A command's response_url has no original until its first message: later posts may replace it.
            target.original_ts, target.original_is_ephemeral = ts, is_ephemeral


def _original(ws: Workspace, target: ResponseTarget, channel: Channel) -> Message | Ephemeral | None:
    if target.original_ts is None:
        return None
    if target.original_is_ephemeral:
        return ws.find_ephemeral(target.user, target.original_ts)
    return channel.find(target.original_ts)
