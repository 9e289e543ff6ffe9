"""The emulated workspace: users, channels and their messages, ephemeral messages, open modals, files,
trigger ids and response URLs. One re-entrant lock guards all of it; every reader and writer holds it."""

from __future__ import annotations

import copy
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from devtools.slack_emulator.knobs import SlackKnobs
from devtools.slack_emulator.rate_limits import RateLimiter

__all__ = [
    "ApiError",
    "Channel",
    "Ephemeral",
    "FileUpload",
    "Message",
    "OpenView",
    "ResponseTarget",
    "User",
    "Workspace",
]


class ApiError(Exception):
    """A Web API failure as Slack answers it: `{"ok": false, "error": error, **extra}` with `status`."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        messages: list[str] | None = None,
        retry_after: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        #: Seconds for the Retry-After header of a 429.
        self.retry_after = retry_after
        self.extra = dict(extra)
        if messages:
            self.extra["response_metadata"] = {"messages": [f"[ERROR] {message}" for message in messages]}


@dataclass
class User:
    id: str
    name: str
    real_name: str
    tz: str = "America/Los_Angeles"
    is_admin: bool = False
    is_owner: bool = False
    is_primary_owner: bool = False
    is_restricted: bool = False
    is_bot: bool = False
    deleted: bool = False

    def to_api(self, team_id: str) -> dict[str, Any]:
        """The user object of users.info."""
        now = datetime.now(ZoneInfo(self.tz))
        offset = now.utcoffset()
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": now.tzname(),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                "real_name_normalized": self.real_name,
                "display_name_normalized": self.name,
                "team": team_id,
            },
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": self.is_primary_owner,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }


@dataclass
class Message:
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    #: How many times it was updated (chat.update or a response_url replace).
    edited: int = 0
    #: Shared files: {"id", "name", "title"}.
    files: list[dict[str, Any]] = field(default_factory=list)
    #: "tombstone" once a parent with replies is deleted (Slack keeps the thread).
    subtype: str | None = None


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    bot_member: bool = True
    #: Member user ids; None: every user of the workspace.
    members: set[str] | None = None
    #: Top-level messages and replies, oldest first.
    messages: list[Message] = field(default_factory=list)

    def has_member(self, user_id: str) -> bool:
        return self.members is None or user_id in self.members

    def find(self, ts: str) -> Message | None:
        return next((message for message in self.messages if message.ts == ts), None)

    def replies(self, ts: str) -> list[Message]:
        return [message for message in self.messages if message.thread_ts == ts and message.ts != ts]

    def is_top_level(self, message: Message) -> bool:
        return message.thread_ts is None or message.thread_ts == message.ts


@dataclass
class Ephemeral:
    ts: str
    channel: str
    #: The one user who sees it.
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    edited: int = 0


@dataclass
class OpenView:
    id: str
    user: str
    #: The view as the app sent it, with the block and action ids Slack filled in.
    view: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None
    #: block_id -> action_id -> state entry (what view.state.values holds).
    values: dict[str, dict[str, dict[str, Any]]]
    #: (block_id, action_id) of the inputs the user changed: only these survive views.update.
    touched: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class FileUpload:
    id: str
    name: str
    length: int
    content: bytes | None = None
    title: str | None = None
    completed: bool = False
    #: Where files.completeUploadExternal shared it: (channel id, message ts, thread_ts).
    shares: list[tuple[str, str, str | None]] = field(default_factory=list)
    initial_comment: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class ResponseTarget:
    """Where a response_url's posts go."""

    user: str
    channel: str
    #: The message the interaction came from (replace_original/delete_original act on it).
    original_ts: str | None
    original_is_ephemeral: bool
    issued: float = field(default_factory=time.monotonic)
    uses: int = 0


@dataclass
class _Trigger:
    user: str
    issued: float = field(default_factory=time.monotonic)
    used: bool = False


class Workspace:
    """All state of one workspace with one app installed. Hold `lock` while reading or changing it."""

    def __init__(
        self,
        *,
        team_id: str,
        team_domain: str,
        bot: User,
        bot_id: str,
        bot_token: str,
        app_token: str,
        app_id: str,
        knobs: SlackKnobs,
    ) -> None:
        self.lock = threading.RLock()
        self.limiter = RateLimiter()
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot = bot
        self.bot_id = bot_id
        self.bot_token = bot_token
        #: The app-level token (xapp-…): Socket Mode's apps.connections.open takes it and nothing else.
        self.app_token = app_token
        self.app_id = app_id
        self.knobs = knobs
        #: Set once the server is bound; upload and response URLs point at it.
        self.base_url = ""
        self.users: dict[str, User] = {bot.id: bot}
        self.channels: dict[str, Channel] = {}
        self.ephemerals: dict[str, list[Ephemeral]] = defaultdict(list)
        self.views: dict[str, OpenView] = {}
        #: user id -> the Home tab view the app published for that user (views.publish).
        self.home_views: dict[str, OpenView] = {}
        #: user group id ("S...") -> its members' ids (usergroups.users.list).
        self.usergroups: dict[str, list[str]] = {}
        #: user id -> ids of the modals open for that user, root first (Slack stacks at most 3).
        self.stacks: dict[str, list[str]] = defaultdict(list)
        self.files: dict[str, FileUpload] = {}
        self.triggers: dict[str, _Trigger] = {}
        self.responses: dict[str, ResponseTarget] = {}
        self._sequences: dict[str, count[int]] = defaultdict(lambda: count(1))
        self._last_micros = 0
        #: The middle number of this workspace's trigger ids.
        self._trigger_team = secrets.randbelow(10**9)

    # ---- identifiers -------------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """A Slack-shaped id: a type letter and at least 8 uppercase alphanumerics (e.g. "V000000001")."""
        with self.lock:
            return f"{prefix}{next(self._sequences[prefix]):09d}"

    def new_ts(self) -> str:
        """A message ts ("1732665600.000100"): wall-clock microseconds, strictly increasing."""
        with self.lock:
            micros = max(int(time.time() * 1_000_000), self._last_micros + 1)
            self._last_micros = micros
            return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    @staticmethod
    def new_hash() -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    # ---- triggers and response URLs ---------------------------------------------------------------------

    def issue_trigger(self, user_id: str) -> str:
        """A trigger_id in Slack's "132456.7890123.abcdef" shape, valid once within `knobs.trigger_ttl`."""
        with self.lock:
            trigger_id = f"{next(self._sequences['trigger'])}.{self._trigger_team}.{secrets.token_hex(16)}"
            self.triggers[trigger_id] = _Trigger(user_id)
            return trigger_id

    def exchange_trigger(self, trigger_id: str | None) -> str:
        """The user a trigger was issued for, using it up; or Slack's error."""
        with self.lock:
            if not trigger_id:
                raise ApiError("invalid_arguments", messages=["missing required field: trigger_id"])
            trigger = self.triggers.get(trigger_id)
            if trigger is None:
                raise ApiError("invalid_trigger_id")
            if trigger.used:
                raise ApiError("exchanged_trigger_id")
            if time.monotonic() - trigger.issued > self.knobs.trigger_ttl:
                raise ApiError("expired_trigger_id")
            trigger.used = True
            return trigger.user

    def issue_response_url(self, target: ResponseTarget) -> str:
        with self.lock:
            token = secrets.token_urlsafe(18)
            self.responses[token] = target
            return f"{self.base_url}/response/{token}"

    # ---- channels and messages --------------------------------------------------------------------------

    def channel(self, channel_id: str | None) -> Channel:
        """The channel with this id, or `channel_not_found`."""
        with self.lock:
            found = self.channels.get(channel_id or "")
            if found is None:
                raise ApiError("channel_not_found")
            return found

    def find_channel(self, value: str | None) -> Channel:
        """A channel named by id or by name ("finance", "#finance"), as chat.post* accept; a user id is the
        DM with that user (chat.postMessage to a user posts in the app's DM with them)."""
        with self.lock:
            value = value or ""
            if value in self.channels:
                return self.channels[value]
            name = value.removeprefix("#")
            for candidate in self.channels.values():
                if not candidate.is_im and candidate.name == name:
                    return candidate
            if value in self.users and value != self.bot.id:
                return self.dm(value)
            raise ApiError("channel_not_found")

    def dm(self, *user_ids: str) -> Channel:
        """The app's direct conversation with these users, created on first use: an IM ("D...") with one
        user, a multi-person IM ("G...") with several."""
        members = set(user_ids)
        with self.lock:
            for candidate in self.channels.values():
                if candidate.is_im and candidate.members == members:
                    return candidate
            if len(members) == 1:
                channel = Channel(
                    self.new_id("D"), "directmessage", is_private=True, is_im=True, members=members
                )
            else:
                name = "mpdm-" + "--".join(self.users[user_id].name for user_id in user_ids) + "-1"
                channel = Channel(self.new_id("G"), name, is_private=True, is_im=True, members=members)
            self.channels[channel.id] = channel
            return channel

    def post(
        self,
        channel: Channel,
        *,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> tuple[Message, str]:
        """Post as the bot; returns the message and a note when no one will see it (a bad thread_ts)."""
        with self.lock:
            message = Message(
                self.new_ts(), self.bot.id, text, blocks, thread_ts=thread_ts, files=files or []
            )
            if thread_ts is None:
                channel.messages.append(message)
                return message, ""
            parent = channel.find(thread_ts)
            if parent is None or not channel.is_top_level(parent):
                # Slack answers ok, but the reply shows in no thread (python-slack-sdk#840): it is not kept.
                note = f"thread_ts {thread_ts} is no top-level message of {channel.id}: no one sees this"
                return message, note
            parent.thread_ts = parent.ts
            channel.messages.append(message)
            return message, ""

    def delete(self, channel: Channel, message: Message) -> None:
        """Delete like Slack: a parent with replies stays as a tombstone so that its thread remains."""
        with self.lock:
            if channel.is_top_level(message) and channel.replies(message.ts):
                message.subtype, message.text, message.blocks, message.files = (
                    "tombstone",
                    "This message was deleted.",
                    [],
                    [],
                )
            else:
                channel.messages.remove(message)

    def message_to_api(self, channel: Channel, message: Message) -> dict[str, Any]:
        """The message object Slack returns (chat.postMessage `message`, block_actions `message`)."""
        with self.lock:
            result: dict[str, Any] = {
                "type": "message",
                "user": message.user,
                "text": message.text,
                "blocks": copy.deepcopy(message.blocks),
                "team": self.team_id,
                "ts": message.ts,
            }
            if message.user == self.bot.id:  # a person's message carries no bot_id / app_id
                result.update({"bot_id": self.bot_id, "app_id": self.app_id})
            if message.subtype:
                result["subtype"] = message.subtype
            if message.files:
                result["files"] = copy.deepcopy(message.files)
                result["upload"] = True
            if message.thread_ts:
                result["thread_ts"] = message.thread_ts
                replies = channel.replies(message.ts)
                if message.thread_ts == message.ts:
                    result["reply_count"] = len(replies)
                    result["latest_reply"] = replies[-1].ts
                else:
                    parent = channel.find(message.thread_ts)
                    result["parent_user_id"] = parent.user if parent else None
            return result

    def post_ephemeral(
        self,
        channel: Channel,
        user_id: str,
        *,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None,
    ) -> Ephemeral:
        with self.lock:
            ephemeral = Ephemeral(self.new_ts(), channel.id, user_id, text, blocks, thread_ts=thread_ts)
            self.ephemerals[user_id].append(ephemeral)
            return ephemeral

    def find_ephemeral(self, user_id: str, ts: str | None) -> Ephemeral | None:
        with self.lock:
            return next((item for item in self.ephemerals[user_id] if item.ts == ts), None)
