"""Slack's side of a conversation with the app: a user's slash commands, typing, clicks and submits,
posted to the app's Request URL the way Slack's servers post them (form bodies, `payload=` JSON, signed
with the app's signing secret), and what Slack then does with the app's HTTP answer."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from devtools.slack_emulator.limits import MAX_VIEW_STACK
from devtools.slack_emulator.methods import checked_view, close_views, replace_view, stack_view
from devtools.slack_emulator.responses import apply_response
from devtools.slack_emulator.state import (
    ApiError,
    Channel,
    Ephemeral,
    Message,
    OpenView,
    ResponseTarget,
    User,
    Workspace,
)
from devtools.slack_emulator.transcript import AppDelivery, EventLog
from devtools.slack_emulator.views import (
    client_problems,
    find_button,
    find_element,
    fresh_values,
    view_object,
)

__all__ = ["AppResponse", "ClientRejected", "SentRequest", "SlackUser", "payload_body"]

#: Proxies from the environment must not see requests to an app on 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
_TEXT_INPUTS = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}


@dataclass(frozen=True, slots=True)
class AppResponse:
    """The app's HTTP answer to one request from Slack."""

    #: HTTP status; 0 when no answer came (connection refused, or none within `knobs.ack_timeout`).
    status: int
    body: str
    headers: dict[str, str]
    #: Seconds from sending the request to the complete answer (the user waits this long).
    elapsed: float
    #: None when Slack accepted the answer; else what went wrong as the user would see it:
    #: "operation_timeout" (no answer within 3 s), "dispatch_failed" (no 200), or a refused content.
    error: str | None = None
    #: When Slack sent the request, in seconds since the emulator started.
    sent_at: float = 0.0

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class SentRequest:
    """A request as Slack sent it to the app, byte for byte: what a captured request replays."""

    body: bytes
    headers: dict[str, str]


class ClientRejected(Exception):
    """The Slack client would not submit the modal; `errors` are what it shows, by block_id."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(f"the Slack client refuses to submit: {errors}")
        self.errors = errors


class SlackUser:
    """One workspace user using the app through Slack. Made by `SlackEmulator.user()`."""

    def __init__(
        self,
        ws: Workspace,
        events: EventLog,
        *,
        user_id: str,
        app_url: str,
        signing_secret: str,
        verification_token: str,
    ) -> None:
        if user_id not in ws.users:
            raise ValueError(f"no user {user_id} in the workspace (add_user first)")
        self.user_id = user_id
        self.app_url = app_url
        self._ws = ws
        self._events = events
        self._signing_secret = signing_secret
        self._verification_token = verification_token
        #: The last request sent to the app for this user (to replay it with `resend`).
        self.last_sent: SentRequest | None = None

    # ---- what the user does -----------------------------------------------------------------------------

    def slash_command(self, command: str, text: str = "", channel: str | None = None) -> AppResponse:
        """Run `command text` in `channel` (default: the user's DM with the app). Slack shows a message in
        the app's answer (ephemeral unless response_type is in_channel)."""
        fields, target, where = self._slash_command(command, text, channel)
        response = self._send(urlencode(fields).encode())
        if response.error is None and response.body.strip():
            payload = response.json if isinstance(response.json, dict) else {"text": response.body}
            try:
                apply_response(self._ws, target, payload)
            except ApiError as failure:
                response = replace(response, error=failure.error)
        return self._record("slash_command", f'{command} "{text}" in {where.id}', response)

    def prepared_slash_command(self, command: str, text: str = "", channel: str | None = None) -> SentRequest:
        """`slash_command`'s request, signed as Slack sends it but not sent: for a load generator that sends
        it itself (what the app answers in it is then not shown; what it sends to the response_url is)."""
        return self._signed(urlencode(self._slash_command(command, text, channel)[0]).encode())

    def _slash_command(
        self, command: str, text: str, channel: str | None
    ) -> tuple[dict[str, str], ResponseTarget, Channel]:
        ws = self._ws
        with ws.lock:
            user = ws.users[self.user_id]
            where = ws.channels[channel] if channel else ws.dm(self.user_id)
            if not where.has_member(self.user_id):
                raise ValueError(f"{self.user_id} is not a member of {where.id}")
            target = ResponseTarget(self.user_id, where.id, None, True)
            fields = {
                "token": self._verification_token,
                "team_id": ws.team_id,
                "team_domain": ws.team_domain,
                "channel_id": where.id,
                "channel_name": where.name,
                "user_id": user.id,
                "user_name": user.name,
                "command": command,
                "text": text,
                "api_app_id": ws.app_id,
                "is_enterprise_install": "false",
                "response_url": ws.issue_response_url(target),
                "trigger_id": ws.issue_trigger(self.user_id),
            }
        return fields, target, where

    def open_view(self, timeout: float = 2.0) -> dict[str, Any]:
        """The modal on top of this user's stack, with its current state, as Slack would send it to the app.
        Modals open after the command's answer, so this waits up to `timeout` seconds for one."""
        deadline = time.monotonic() + timeout
        while True:
            with self._ws.lock:
                opened = self._top_view_or_none()
                if opened is not None:
                    return self._view(opened)
            if time.monotonic() >= deadline:
                raise LookupError(f"no modal open for {self.user_id} after {timeout} s")
            time.sleep(0.01)

    def type(
        self, block_id: str, action_id: str, text: str, *, press_enter: bool = False
    ) -> AppResponse | None:
        """Set a text input of the open modal to `text`. Slack sends block_actions only for an input block
        with dispatch_action, on each change with on_character_entered, else on Enter (`press_enter`)."""
        ws = self._ws
        with ws.lock:
            opened = self._top_view()
            block, element = self._element(opened, block_id, action_id, _TEXT_INPUTS)
            opened.values[block_id][action_id]["value"] = text
            opened.touched.add((block_id, action_id))
            config = element.get("dispatch_action_config") or {}
            triggers = config.get("trigger_actions_on", ["on_enter_pressed"])
            fires = "on_character_entered" in triggers or (press_enter and "on_enter_pressed" in triggers)
            if block.get("type") == "input" and not (block.get("dispatch_action") and fires):
                return None
            action = {
                "type": element["type"],
                "block_id": block_id,
                "action_id": action_id,
                "value": text,
                "action_ts": ws.new_ts(),
            }
            payload = self._view_actions(opened, action)
        return self._deliver_payload("block_actions", f"{block_id}/{action_id} typed in {opened.id}", payload)

    def select_radio(self, block_id: str, action_id: str, value: str) -> AppResponse | None:
        """Choose the radio button with `value` in the open modal; block_actions goes out for radio buttons
        outside input blocks, and inside one with dispatch_action."""
        ws = self._ws
        with ws.lock:
            opened = self._top_view()
            block, element = self._element(opened, block_id, action_id, {"radio_buttons"})
            option = next((item for item in element.get("options", []) if item.get("value") == value), None)
            if option is None:
                raise ValueError(f"{block_id}/{action_id} has no option with value {value!r}")
            opened.values[block_id][action_id]["selected_option"] = option
            opened.touched.add((block_id, action_id))
            if block.get("type") == "input" and not block.get("dispatch_action"):
                return None
            action = {
                "type": "radio_buttons",
                "block_id": block_id,
                "action_id": action_id,
                "selected_option": option,
                "action_ts": ws.new_ts(),
            }
            payload = self._view_actions(opened, action)
        return self._deliver_payload(
            "block_actions", f"{block_id}/{action_id}={value} in {opened.id}", payload
        )

    def submit(self) -> AppResponse:
        """Press the modal's submit button: view_submission with the current state; Slack then does what
        the answer says (close; response_action errors, update, push or clear). Raises ClientRejected when
        the client itself refuses (a required input empty, a text outside min/max_length)."""
        ws = self._ws
        with ws.lock:
            opened = self._top_view()
            if opened.view.get("submit") is None:
                raise LookupError(f"modal {opened.id} has no submit button")
            payload = self._submission(opened)
        response = self._send(payload_body(payload))
        if response.error is None:
            response = replace(response, error=self._apply_submission_answer(opened, response))
        return self._record("view_submission", f"{opened.view.get('callback_id')!r} {opened.id}", response)

    def close(self) -> None:
        """Press the modal's Close button (or Escape): Slack closes it at once. (view_closed goes out only
        for a modal with notify_on_close; none of ours asks for it, so it is not emulated.)"""
        with self._ws.lock:
            opened = self._top_view()
            if opened.view.get("notify_on_close"):
                raise NotImplementedError("view_closed is not emulated")
            close_views(self._ws, self.user_id, all_of_them=False)

    def click(
        self, action_id: str, message: dict[str, Any] | None = None, *, block_id: str | None = None
    ) -> AppResponse:
        """Click a button: in `message` (a dict from `messages()` or `ephemeral()`), else in the open modal,
        else in the newest message this user sees that has one with this action_id."""
        return self._deliver_payload("block_actions", *self._click(action_id, message, block_id))

    def prepared_click(self, action_id: str, message: dict[str, Any] | None = None) -> SentRequest:
        """`click`'s request, signed as Slack sends it but not sent (see `prepared_slash_command`)."""
        return self._signed(payload_body(self._click(action_id, message, None)[1]))

    def _click(
        self, action_id: str, message: dict[str, Any] | None, block_id: str | None
    ) -> tuple[str, dict[str, Any]]:
        ws = self._ws
        with ws.lock:
            opened = self._top_view_or_none()
            in_view = (
                find_button(opened.view["blocks"], action_id, block_id)
                if opened and message is None
                else None
            )
            if opened is not None and in_view is not None:
                action = _button_action(*in_view, ws.new_ts())
                payload = self._view_actions(opened, action)
                summary = f"{action['block_id']}/{action_id} clicked in {opened.id}"
            else:
                channel, source, (block, button) = self._message_with_button(action_id, block_id, message)
                payload = self._message_actions(channel, source, _button_action(block, button, ws.new_ts()))
                summary = f"{block['block_id']}/{action_id} clicked on {channel.id} {source.ts}"
        return summary, payload

    def resend(self, sent: SentRequest) -> AppResponse:
        """Send a captured request again, unchanged (its signature included), as a replay attack would;
        Slack's client does nothing with the answer."""
        return self._record("replay", f"{len(sent.body)} bytes", self._post(sent))

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's request-signing headers for `body` (v0, HMAC-SHA256 of "v0:<timestamp>:<body>")."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        base = b"v0:" + stamp.encode() + b":" + body
        digest = hmac.new(self._signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}

    # ---- payloads ---------------------------------------------------------------------------------------

    def _submission(self, opened: OpenView) -> dict[str, Any]:
        """The view_submission of `opened` as it stands (ClientRejected if the client would not send it)."""
        ws = self._ws
        problems = client_problems(opened)
        if problems:
            raise ClientRejected(problems)
        return {
            "type": "view_submission",
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "user": self._user_ref(ws.users[self.user_id]),
            "api_app_id": ws.app_id,
            "token": self._verification_token,
            "trigger_id": ws.issue_trigger(self.user_id),
            "view": self._view(opened),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def _view_actions(self, opened: OpenView, action: dict[str, Any]) -> dict[str, Any]:
        ws = self._ws
        return {
            "type": "block_actions",
            "user": self._user_ref(ws.users[self.user_id]),
            "api_app_id": ws.app_id,
            "token": self._verification_token,
            "container": {"type": "view", "view_id": opened.id},
            "trigger_id": ws.issue_trigger(self.user_id),
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "view": self._view(opened),
            "actions": [action],
        }

    def _message_actions(
        self, channel: Channel, source: Message | Ephemeral, action: dict[str, Any]
    ) -> dict[str, Any]:
        ws = self._ws
        is_ephemeral = isinstance(source, Ephemeral)
        target = ResponseTarget(self.user_id, channel.id, source.ts, is_ephemeral)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_ref(ws.users[self.user_id]),
            "api_app_id": ws.app_id,
            "token": self._verification_token,
            "container": {
                "type": "message",
                "message_ts": source.ts,
                "channel_id": channel.id,
                "is_ephemeral": is_ephemeral,
            },
            "trigger_id": ws.issue_trigger(self.user_id),
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel.id, "name": channel.name},
            "state": {"values": fresh_values(source.blocks)},
            "response_url": ws.issue_response_url(target),
            "actions": [action],
        }
        if isinstance(source, Message):
            # Slack keeps no copy of ephemeral messages, so only channel messages come along.
            payload["message"] = ws.message_to_api(channel, source)
        return payload

    def _view(self, opened: OpenView) -> dict[str, Any]:
        ws = self._ws
        return view_object(opened, team_id=ws.team_id, app_id=ws.app_id, bot_id=ws.bot_id)

    def _user_ref(self, user: User) -> dict[str, Any]:
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self._ws.team_id}

    # ---- lookups ------------------------------------------------------------------------------------------

    def _top_view_or_none(self) -> OpenView | None:
        stack = self._ws.stacks[self.user_id]
        return self._ws.views[stack[-1]] if stack else None

    def _top_view(self) -> OpenView:
        opened = self._top_view_or_none()
        if opened is None:
            raise LookupError(f"no modal open for {self.user_id}")
        return opened

    @staticmethod
    def _element(
        opened: OpenView, block_id: str, action_id: str, kinds: set[str]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        found = find_element(opened.view["blocks"], block_id, action_id)
        if found is None:
            raise LookupError(f"modal {opened.id} has no element {block_id}/{action_id}")
        if found[1].get("type") not in kinds:
            raise ValueError(
                f"{block_id}/{action_id} is a {found[1].get('type')}, not one of {sorted(kinds)}"
            )
        return found

    def _message_with_button(
        self, action_id: str, block_id: str | None, message: dict[str, Any] | None
    ) -> tuple[Channel, Message | Ephemeral, tuple[dict[str, Any], dict[str, Any]]]:
        ws = self._ws
        candidates: list[tuple[Channel, Message | Ephemeral]] = []
        if message is not None:
            channel = ws.channels[str(message.get("channel"))]
            source: Message | Ephemeral | None = (
                ws.find_ephemeral(self.user_id, message.get("ts"))
                if message.get("is_ephemeral")
                else channel.find(str(message.get("ts")))
            )
            if source is None:
                raise LookupError(
                    f"message {message.get('ts')} is gone (deleted, or ephemeral for someone else)"
                )
            candidates.append((channel, source))
        else:
            for ephemeral in ws.ephemerals[self.user_id]:
                candidates.append((ws.channels[ephemeral.channel], ephemeral))
            for channel in ws.channels.values():
                if channel.has_member(self.user_id):
                    candidates.extend((channel, item) for item in channel.messages)
            candidates.sort(key=lambda pair: pair[1].ts, reverse=True)
        for channel, source in candidates:
            found = find_button(source.blocks, action_id, block_id)
            if found is not None:
                return channel, source, found
        raise LookupError(f"no button {action_id!r} visible to {self.user_id}")

    # ---- Slack's side of the HTTP exchange ---------------------------------------------------------------

    def _deliver_payload(self, kind: str, summary: str, payload: dict[str, Any]) -> AppResponse:
        return self._record(kind, summary, self._send(payload_body(payload)))

    def _send(self, body: bytes) -> AppResponse:
        self.last_sent = self._signed(body)
        return self._post(self.last_sent)

    def _signed(self, body: bytes) -> SentRequest:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": _USER_AGENT,
            "Accept": "application/json,*/*",
            **self.sign(body),
        }
        return SentRequest(body, headers)

    def _post(self, sent: SentRequest) -> AppResponse:
        request = urllib.request.Request(self.app_url, data=sent.body, headers=sent.headers, method="POST")
        limit = self._ws.knobs.ack_timeout
        started, sent_at = time.monotonic(), self._events.now()
        try:
            with _OPENER.open(request, timeout=limit) as answer:
                status, text, answer_headers = answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as failure:
            status, text, answer_headers = failure.code, failure.read(), dict(failure.headers)
        except OSError as failure:  # URLError, TimeoutError, a reset connection
            reason = getattr(failure, "reason", failure)
            failed = "operation_timeout" if isinstance(reason, TimeoutError) else "dispatch_failed"
            return AppResponse(0, "", {}, time.monotonic() - started, failed, sent_at)
        elapsed = time.monotonic() - started
        late = elapsed > limit
        error = "operation_timeout" if late else (None if status == 200 else "dispatch_failed")
        return AppResponse(status, text.decode("utf-8", "replace"), answer_headers, elapsed, error, sent_at)

    def _apply_submission_answer(self, opened: OpenView, response: AppResponse) -> str | None:
        """Do what a view_submission answer says; the error the user would see, if any."""
        answer = response.json if response.body.strip() else {}
        if not isinstance(answer, dict):
            return "invalid_response: the answer to a view_submission must be empty or a JSON object"
        ws = self._ws
        action = answer.get("response_action")
        with ws.lock:
            if opened.id not in ws.views:
                return None  # The app closed or replaced it meanwhile.
            if action is None:
                close_views(ws, self.user_id, all_of_them=False)
            elif action == "clear":
                close_views(ws, self.user_id, all_of_them=True)
            elif action == "errors":
                inputs = {
                    block.get("block_id") for block in opened.view["blocks"] if block.get("type") == "input"
                }
                unknown = sorted(set(answer.get("errors") or {}) - inputs)
                if not answer.get("errors") or unknown:
                    # Slack shows errors under input blocks only; anything else fails the submission.
                    return f"invalid_response: errors must name input blocks of the view (not {unknown})"
            elif action in ("update", "push"):
                try:
                    view = checked_view(answer.get("view"))
                except ApiError as failure:
                    problems = failure.extra.get("response_metadata", {}).get("messages", [])
                    return "; ".join([failure.error, *problems])
                if action == "update":
                    replace_view(ws, opened, view)
                elif len(ws.stacks[self.user_id]) >= MAX_VIEW_STACK:
                    return "push_limit_reached"
                else:
                    stack_view(ws, self.user_id, view, opened)
            else:
                return f"invalid_response: unknown response_action {action!r}"
        return None

    def _record(self, kind: str, summary: str, response: AppResponse) -> AppResponse:
        self._events.add(
            AppDelivery(
                kind=kind,
                user=self.user_id,
                summary=summary,
                status=response.status,
                elapsed=response.elapsed,
                error=response.error,
                at=response.sent_at,
            )
        )
        return response


def payload_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def _button_action(block: dict[str, Any], button: dict[str, Any], action_ts: str) -> dict[str, Any]:
    action = {
        "action_id": button["action_id"],
        "block_id": block["block_id"],
        "text": button.get("text"),
        "type": "button",
        "action_ts": action_ts,
    }
    action.update({key: button[key] for key in ("value", "style", "url") if key in button})
    return action
