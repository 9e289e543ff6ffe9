"""What a user does beyond a modal's own controls: open the app's Home tab and click in it (Events API
`app_home_opened`, block_actions from a `home` view), pick a conversation in a modal, and double-click a
modal's submit button (two view_submissions leave before the first answer is shown).
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

from devtools.slack_emulator.app_home import event_envelope, home_view
from devtools.slack_emulator.client import (
    _USER_AGENT,
    AppResponse,
    SentRequest,
    SlackUser,
    _button_action,
    payload_body,
)
from devtools.slack_emulator.state import ResponseTarget
from devtools.slack_emulator.views import find_button, find_element

__all__ = ["AppUser", "post_json"]


def post_json(user: SlackUser, payload: dict[str, Any]) -> AppResponse:
    """POST `payload` as JSON, signed, to the user's app: how Slack sends the Events API's requests."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": _USER_AGENT, **user.sign(body)}
    user.last_sent = SentRequest(body, headers)
    return user._post(user.last_sent)


class AppUser(SlackUser):
    """A workspace user of the app (`SlackEmulator.user()`): every `SlackUser` action and the ones here."""

    def open_home(self) -> AppResponse:
        """Open the app's Home tab: Slack sends `app_home_opened`, with the view published for this user
        (if any). The app answers 200 at once and publishes after."""
        ws = self._ws
        with ws.lock:
            event: dict[str, Any] = {
                "type": "app_home_opened",
                "user": self.user_id,
                "channel": ws.dm(self.user_id).id,
                "tab": "home",
                "event_ts": ws.new_ts(),
            }
            published = ws.home_views.get(self.user_id)
            if published is not None:
                event["view"] = home_view(ws, published, with_state=False)
            envelope = event_envelope(ws, event, self._verification_token)
        return self._record("event", f"app_home_opened by {self.user_id}", post_json(self, envelope))

    def click_home(self, action_id: str, *, block_id: str | None = None) -> AppResponse:
        """Click a button of the Home tab the app published for this user."""
        ws = self._ws
        with ws.lock:
            published = ws.home_views.get(self.user_id)
            found = find_button(published.view["blocks"], action_id, block_id) if published else None
            if published is None or found is None:
                raise LookupError(f"no button {action_id!r} in {self.user_id}'s Home tab")
            payload = self._view_actions(published, _button_action(*found, ws.new_ts()))
            payload["view"] = home_view(ws, published)
        return self._deliver_payload("block_actions", f"{action_id} clicked in Home {published.id}", payload)

    def global_shortcut(self, callback_id: str) -> AppResponse:
        """Run the app's global shortcut `callback_id` (from the composer or the search bar): a
        `shortcut` payload with a trigger_id and no conversation."""
        ws = self._ws
        with ws.lock:
            payload = {
                "type": "shortcut",
                "token": self._verification_token,
                "action_ts": ws.new_ts(),
                "team": {"id": ws.team_id, "domain": ws.team_domain},
                "user": self._user_ref(ws.users[self.user_id]),
                "is_enterprise_install": False,
                "enterprise": None,
                "callback_id": callback_id,
                "trigger_id": ws.issue_trigger(self.user_id),
            }
        return self._deliver_payload("shortcut", callback_id, payload)

    def message_shortcut(self, callback_id: str, message: dict[str, Any]) -> AppResponse:
        """Run the app's message shortcut `callback_id` on `message` (a dict from `messages()`): a
        `message_action` payload with the message, its channel, a trigger_id and a response_url."""
        ws = self._ws
        with ws.lock:
            channel = ws.channels[str(message["channel"])]
            if not channel.has_member(self.user_id):
                raise ValueError(f"{self.user_id} does not see {channel.id}")
            source = channel.find(str(message["ts"]))
            if source is None:
                raise LookupError(f"message {message['ts']} is gone")
            target = ResponseTarget(self.user_id, channel.id, None, True)
            payload = {
                "type": "message_action",
                "token": self._verification_token,
                "action_ts": ws.new_ts(),
                "team": {"id": ws.team_id, "domain": ws.team_domain},
                "user": self._user_ref(ws.users[self.user_id]),
                "channel": {"id": channel.id, "name": channel.name},
                "is_enterprise_install": False,
                "enterprise": None,
                "callback_id": callback_id,
                "trigger_id": ws.issue_trigger(self.user_id),
                "response_url": ws.issue_response_url(target),
                "message_ts": source.ts,
                "message": ws.message_to_api(channel, source),
            }
        return self._deliver_payload("message_action", f"{callback_id} on {channel.id} {source.ts}", payload)

    def select_conversation(self, block_id: str, action_id: str, channel_id: str) -> None:
        """Pick a conversation in the open modal's conversations_select (an input block without
        dispatch_action: Slack sends nothing until the form is submitted)."""
        ws = self._ws
        with ws.lock:
            opened = self._top_view()
            found = find_element(opened.view["blocks"], block_id, action_id)
            if found is None or found[1].get("type") != "conversations_select":
                raise LookupError(f"modal {opened.id} has no conversations_select {block_id}/{action_id}")
            if channel_id not in ws.channels or not ws.channels[channel_id].has_member(self.user_id):
                raise ValueError(f"{self.user_id} cannot pick {channel_id}: not a member")
            opened.values[block_id][action_id]["selected_conversation"] = channel_id
            opened.touched.add((block_id, action_id))

    def submit_twice(self) -> list[AppResponse]:
        """Double-click the open modal's submit button: both submissions are sent at once, with the
        same view state, and Slack applies each answer as it comes (in the order they came)."""
        ws = self._ws
        with ws.lock:
            opened = self._top_view()
            if opened.view.get("submit") is None:
                raise LookupError(f"modal {opened.id} has no submit button")
            bodies = [payload_body(self._submission(opened)) for _ in range(2)]
        answers: list[AppResponse] = []
        lock = threading.Lock()
        start = threading.Barrier(len(bodies))

        def send(body: bytes) -> None:
            start.wait()
            response = self._send(body)
            with lock:  # applied one at a time, in the order the answers came
                if response.error is None:
                    response = replace(response, error=self._apply_submission_answer(opened, response))
                answers.append(
                    self._record(
                        "view_submission", f"{opened.view.get('callback_id')!r} {opened.id}", response
                    )
                )

        threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return answers
