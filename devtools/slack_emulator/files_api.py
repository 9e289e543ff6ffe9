"""Files on Slack's side: `files.getUploadURLExternal`, the upload itself (`server.py`),
`files.completeUploadExternal` (which answers only each file's id and title, as its reference example
shows: no permalink) and `files.info` (scope files:read: the file's permalink, its shares). Registered with
the Web API on import."""

from __future__ import annotations

from typing import Any

from devtools.slack_emulator.limits import MAX_SNIPPET_BYTES
from devtools.slack_emulator.methods import CHANNEL_ID_RULE, ApiCall, register_method
from devtools.slack_emulator.state import ApiError, Channel, FileUpload, Workspace

__all__ = ["files_complete_upload_external", "files_get_upload_url_external", "files_info"]


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
            raise ApiError("invalid_arguments", messages=[f"{CHANNEL_ID_RULE} [json-pointer:/{argument}]"])
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


register_method("files.getUploadURLExternal", files_get_upload_url_external, ("files:write",))
register_method("files.completeUploadExternal", files_complete_upload_external, ("files:write",))
register_method("files.info", files_info, ("files:read",))
