"""Messages on Slack's side: `chat.postMessage`, `chat.postEphemeral`, `chat.update`, `chat.delete`,
`chat.getPermalink`, each checking its content as Slack does (`methods.validated_content`: Block Kit,
the total size of blocks, texts). Registered with the Web API on import."""

from __future__ import annotations

from typing import Any

from devtools.slack_emulator.limits import MAX_TEXT, MAX_UPDATE_TEXT
from devtools.slack_emulator.methods import ApiCall, register_method, validated_content
from devtools.slack_emulator.state import ApiError, Channel, Workspace

__all__ = ["chat_delete", "chat_get_permalink", "chat_post_ephemeral", "chat_post_message", "chat_update"]


def _bot_may_post(ws: Workspace, channel: Channel) -> None:
    # chat:write.public lets a bot post in public channels it has not joined; nothing else does.
    public_ok = not channel.is_private and "chat:write.public" in ws.knobs.scopes
    if not channel.bot_member and not public_ok:
        raise ApiError("not_in_channel")


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


register_method("chat.postMessage", chat_post_message, ("chat:write",))
register_method("chat.postEphemeral", chat_post_ephemeral, ("chat:write",))
register_method("chat.update", chat_update, ("chat:write",))
register_method("chat.delete", chat_delete, ("chat:write",))
register_method("chat.getPermalink", chat_get_permalink)
