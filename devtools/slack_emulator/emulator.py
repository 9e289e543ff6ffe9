"""`SlackEmulator`: one workspace with our app installed, served on 127.0.0.1, and its test-facing API."""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from types import TracebackType
from typing import Any, TypeVar

from devtools.slack_emulator import chat_api as _chat_api  # noqa: F401  (registers its methods)
from devtools.slack_emulator import files_api as _files_api  # noqa: F401  (registers its methods)
from devtools.slack_emulator import usergroups as _usergroups  # noqa: F401  (registers its method)
from devtools.slack_emulator.app_home import home_view
from devtools.slack_emulator.client import AppResponse
from devtools.slack_emulator.knobs import SlackKnobs
from devtools.slack_emulator.server import EmulatorServer
from devtools.slack_emulator.state import Channel, Ephemeral, Message, User, Workspace
from devtools.slack_emulator.surfaces import AppUser, post_json
from devtools.slack_emulator.transcript import AppDelivery, EventLog, RecordedCall
from devtools.slack_emulator.views import view_object
from sync_engine.server_thread import ServerThread

__all__ = ["SlackEmulator"]

T = TypeVar("T")


class SlackEmulator:
    """Slack's Web API and Slack's client side, for the real `slack_sdk.WebClient` and a real Bolt app.

    >>> with SlackEmulator() as slack:
    ...     slack.add_user("U_ADMIN", name="ana", is_admin=True)
    ...     slack.add_channel("C_FIN", name="finance")
    ...     client = WebClient(base_url=slack.api_url, token=slack.bot_token)
    """

    def __init__(self, *, port: int = 0, knobs: SlackKnobs | None = None) -> None:
        #: Live limits and faults; change them at any time.
        self.knobs = knobs if knobs is not None else SlackKnobs()
        self.team_id = "T0EMULATOR"
        self.team_domain = "emulated"
        self.bot_user_id = "U0BOT00001"
        self.bot_id = "B0BOT00001"
        self.app_id = "A0APP00001"
        self.bot_token = (
            f"xoxb-{secrets.randbelow(10**12)}-{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"
        )
        #: The app-level token Socket Mode connects with (not in `slack_env`: it would select Socket Mode).
        self.app_token = f"xapp-1-{self.app_id}-{secrets.randbelow(10**12)}-{secrets.token_hex(32)}"
        #: The app's signing secret: the app verifies the emulator's requests with it.
        self.signing_secret = secrets.token_hex(16)
        #: The deprecated verification token Slack still puts in payloads (`token`).
        self.verification_token = secrets.token_hex(12)
        bot = User(self.bot_user_id, "workday-resync", "Workday Resync", is_bot=True)
        self._ws = Workspace(
            team_id=self.team_id,
            team_domain=self.team_domain,
            bot=bot,
            bot_id=self.bot_id,
            bot_token=self.bot_token,
            app_token=self.app_token,
            app_id=self.app_id,
            knobs=self.knobs,
        )
        self._events = EventLog()
        self._server = EmulatorServer(port, self._ws, self._events)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        #: For SLACK_API_URL / `WebClient(base_url=...)`: slack_sdk joins method names onto it.
        self.api_url = f"{self.base_url}/api/"
        self._ws.base_url = self.base_url
        self._serving = ServerThread(self._server, f"slack-emulator {self.base_url}")
        self._closed = False

    # ---- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        self._serving.start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._serving.stop()

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def slack_env(self) -> dict[str, str]:
        """The SLACK_* environment variables that point our bot at this emulator."""
        return {
            "SLACK_BOT_TOKEN": self.bot_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": self.api_url,
        }

    # ---- the workspace ----------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        is_restricted: bool = False,
        tz: str = "America/Los_Angeles",
    ) -> None:
        user = User(
            user_id,
            name,
            real_name or name.title(),
            tz=tz,
            is_admin=is_admin,
            is_owner=is_owner,
            is_primary_owner=is_primary_owner,
            is_restricted=is_restricted,
        )
        with self._ws.lock:
            self._ws.users[user_id] = user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        bot_member: bool = True,
        members: Iterable[str] | None = None,
        is_private: bool = False,
    ) -> None:
        """A channel; `members` None means every user of the workspace (also those added later)."""
        channel = Channel(
            channel_id,
            name,
            is_private=is_private,
            bot_member=bot_member,
            members=None if members is None else set(members),
        )
        with self._ws.lock:
            self._ws.channels[channel_id] = channel

    def say(self, user_id: str, channel_id: str, text: str) -> dict[str, Any]:
        """`user_id` posts `text` in the channel (as from Slack's composer); the message as `messages()`
        lists it."""
        with self._ws.lock:
            channel = self._ws.channels[channel_id]
            if not channel.has_member(user_id):
                raise ValueError(f"{user_id} is not a member of {channel_id}")
            message = Message(self._ws.new_ts(), user_id, text, [])
            channel.messages.append(message)
            return _message_snapshot(channel, message)

    def set_usergroup(self, group_id: str, members: Iterable[str]) -> None:
        """A user group ("S...") with these members (replacing any it had)."""
        with self._ws.lock:
            self._ws.usergroups[group_id] = list(members)

    def invite_bot(self, channel_id: str) -> None:
        """What `/invite @workday-resync` does in a channel."""
        with self._ws.lock:
            self._ws.channels[channel_id].bot_member = True

    def user(self, user_id: str, app_url: str) -> AppUser:
        """A user of the workspace, using the app whose Request URL is `app_url`."""
        return AppUser(
            self._ws,
            self._events,
            user_id=user_id,
            app_url=app_url,
            signing_secret=self.signing_secret,
            verification_token=self.verification_token,
        )

    def dm_channel(self, user_id: str) -> str:
        """The id of the app's direct-message channel with `user_id` (for `messages()`)."""
        with self._ws.lock:
            return self._ws.dm(user_id).id

    def names(self) -> dict[str, str]:
        """User and channel ids → names: how a client shows mentions (`screen`)."""
        with self._ws.lock:
            return {
                self._ws.bot.id: self._ws.bot.name,
                **{user.id: user.name for user in self._ws.users.values()},
                **{channel.id: channel.name for channel in self._ws.channels.values()},
            }

    def time_zone(self, user_id: str) -> str:
        """The user's time zone (IANA name): dates in messages are shown to them in it."""
        with self._ws.lock:
            return self._ws.users[user_id].tz

    # ---- what happened ----------------------------------------------------------------------------------

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages, top-level and replies, oldest first: dicts with channel, ts, thread_ts
        (the parent's ts for replies and for parents with replies, else None), user, text, blocks, edited
        (how many updates), reply_count, files ({id, name, title}), subtype ("tombstone" or None),
        is_ephemeral (False)."""
        with self._ws.lock:
            found = self._ws.channels[channel]
            return [_message_snapshot(found, message) for message in found.messages]

    def ephemeral(self, user: str) -> list[dict[str, Any]]:
        """The ephemeral messages `user` sees, oldest first: channel, ts, thread_ts, user (the recipient),
        text, blocks, edited (how many replacements), is_ephemeral (True)."""
        with self._ws.lock:
            return [_ephemeral_snapshot(item) for item in self._ws.ephemerals[user]]

    @property
    def files(self) -> list[dict[str, Any]]:
        """Uploaded and completed files: id, name, title, content (bytes), channel, thread_ts (of the first
        share; None if private), initial_comment."""
        with self._ws.lock:
            return [
                {
                    "id": upload.id,
                    "name": upload.name,
                    "title": upload.title,
                    "content": upload.content,
                    "channel": upload.shares[0][0] if upload.shares else None,
                    "thread_ts": upload.shares[0][2] if upload.shares else None,
                    "initial_comment": upload.initial_comment,
                }
                for upload in self._ws.files.values()
                if upload.completed
            ]

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Open modals by view id: {"view": as last opened/updated, with its state, "hash", "user"}."""
        with self._ws.lock:
            ws = self._ws
            return {
                view_id: {
                    "view": view_object(opened, team_id=ws.team_id, app_id=ws.app_id, bot_id=ws.bot_id),
                    "hash": opened.hash,
                    "user": opened.user,
                }
                for view_id, opened in ws.views.items()
            }

    def home(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab view the app last published for `user_id` (views.publish), or None."""
        with self._ws.lock:
            published = self._ws.home_views.get(user_id)
            return home_view(self._ws, published) if published is not None else None

    def verify_request_url(self, app_url: str) -> AppResponse:
        """What Slack does when a Request URL is saved for Events: a signed `url_verification` with a
        challenge. `AppResponse.error` is None only if the answer holds the challenge (as JSON, form or
        plain text: Slack takes any)."""
        challenge = secrets.token_urlsafe(32)
        payload = {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        response = post_json(self.user(self.bot_user_id, app_url), payload)
        answered = response.json.get("challenge") if isinstance(response.json, dict) else None
        text = response.body.strip()
        if response.error is None and challenge not in (answered, text, f"challenge={challenge}"):
            response = replace(response, error="url_verification_failed")
        return response

    @property
    def calls(self) -> list[RecordedCall]:
        """Every request to the emulator so far: Web API calls, "response_url" posts, "upload"s."""
        return self._events.calls()

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self._events.calls() if call.method == method]

    def held(self, method: str) -> int:
        """Requests to `method` held now, before Slack sees them (`SlackKnobs.hold_requests`)."""
        with self._server.held_lock:
            return self._server.held[method]

    @property
    def deliveries(self) -> list[AppDelivery]:
        """Every request Slack's side sent to the app, with the app's status and round-trip time."""
        return self._events.deliveries()

    def transcript(self) -> str:
        """All calls and deliveries in order, one readable line each (never a token)."""
        return self._events.transcript()

    def wait_for(self, condition: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Poll `condition` until it returns something truthy (e.g. a message the bot posts from a worker)."""
        deadline = time.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition still false after {timeout} s")
            time.sleep(0.01)


def _message_snapshot(channel: Channel, message: Message) -> dict[str, Any]:
    return {
        "channel": channel.id,
        "ts": message.ts,
        "thread_ts": message.thread_ts,
        "user": message.user,
        "text": message.text,
        "blocks": copy.deepcopy(message.blocks),
        "edited": message.edited,
        "reply_count": len(channel.replies(message.ts)) if channel.is_top_level(message) else 0,
        "files": copy.deepcopy(message.files),
        "subtype": message.subtype,
        "is_ephemeral": False,
    }


def _ephemeral_snapshot(ephemeral: Ephemeral) -> dict[str, Any]:
    return {
        "channel": ephemeral.channel,
        "ts": ephemeral.ts,
        "thread_ts": ephemeral.thread_ts,
        "user": ephemeral.user,
        "text": ephemeral.text,
        "blocks": copy.deepcopy(ephemeral.blocks),
        "edited": ephemeral.edited,
        "is_ephemeral": True,
    }
