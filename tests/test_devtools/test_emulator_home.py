"""The emulator's Home tab, events, shortcuts and user groups, against a real Bolt app over HTTP and the
real slack_sdk WebClient: views.publish and its limits, app_home_opened in a signed Events API envelope,
clicks in a Home view, url_verification, both shortcut payloads, usergroups.users.list."""

from __future__ import annotations

from typing import Any

import pytest
from kits.bolt_app import Bolt
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from devtools.slack_emulator import DEFAULT_SCOPES, SlackEmulator


def home(blocks: int = 1, **extra: Any) -> dict[str, Any]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "Hello"}}
    button = {"type": "button", "action_id": "open", "text": {"type": "plain_text", "text": "Open"}}
    return {
        "type": "home",
        "blocks": [{"type": "actions", "elements": [button]}, *[section] * (blocks - 1)],
        **extra,
    }


def error_of(action: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        action()
    return str(raised.value.response["error"])


def test_views_publish_keeps_one_home_view_per_user_within_slacks_limits(
    slack: SlackEmulator, client: WebClient
) -> None:
    first = client.views_publish(user_id="U_ADMIN", view=home(private_metadata='{"tab": "x"}'))["view"]
    assert first["type"] == "home" and first["private_metadata"] == '{"tab": "x"}'
    again = client.views_publish(user_id="U_ADMIN", view=home(2), hash=first["hash"])["view"]
    assert again["id"] == first["id"] and again["hash"] != first["hash"]
    assert len(slack.home("U_ADMIN")["blocks"]) == 2  # type: ignore[index]
    assert slack.home("U_PLAIN") is None

    assert error_of(lambda: client.views_publish(user_id="U_ADMIN", view=home(), hash=first["hash"])) == (
        "hash_conflict"
    )
    assert error_of(lambda: client.views_publish(user_id="U_ADMIN", view=home(101))) == "invalid_arguments"
    assert error_of(lambda: client.views_publish(user_id="U_ADMIN", view={**home(), "type": "modal"})) == (
        "invalid_arguments"
    )
    assert error_of(lambda: client.views_publish(user_id="U_NOBODY", view=home())) == "user_not_found"
    assert len(slack.home("U_ADMIN")["blocks"]) == 2  # type: ignore[index]


def test_opening_home_sends_app_home_opened_signed_and_a_click_carries_the_home_view(
    slack: SlackEmulator, bolt: Bolt, client: WebClient
) -> None:
    @bolt.app.event("app_home_opened")
    def opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        bolt.seen.append(body)
        client.views_publish(user_id=event["user"], view=home(private_metadata="tab"))

    @bolt.app.action("open")
    def clicked(ack: Any, body: dict[str, Any]) -> None:
        ack()
        bolt.seen.append(body)
        client.views_open(
            trigger_id=body["trigger_id"],
            view={"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": []},
        )

    ana = slack.user("U_ADMIN", app_url=bolt.url)
    assert ana.open_home().error is None  # Bolt verified the signature of the JSON body
    envelope = slack.wait_for(lambda: bolt.seen and bolt.seen[0])
    assert envelope["type"] == "event_callback" and envelope["api_app_id"] == slack.app_id
    assert envelope["event"]["type"] == "app_home_opened" and envelope["event"]["tab"] == "home"
    assert envelope["event"]["user"] == "U_ADMIN" and "view" not in envelope["event"]
    slack.wait_for(lambda: slack.home("U_ADMIN"))

    ana.open_home()
    second = slack.wait_for(lambda: len(bolt.seen) > 1 and bolt.seen[1])
    assert second["event"]["view"]["private_metadata"] == "tab"  # the view published before
    assert second["event_id"] != envelope["event_id"]

    assert ana.click_home("open").error is None
    click = slack.wait_for(lambda: len(bolt.seen) > 2 and bolt.seen[2])
    assert click["container"] == {"type": "view", "view_id": slack.home("U_ADMIN")["id"]}  # type: ignore[index]
    assert click["view"]["type"] == "home"
    assert slack.wait_for(lambda: ana.open_view())["title"]["text"] == "Hi"  # through the click's trigger


def test_url_verification_needs_the_challenge_back_from_a_signed_request(
    slack: SlackEmulator, bolt: Bolt
) -> None:
    assert slack.verify_request_url(bolt.url).error is None  # Bolt answers it itself

    slack.signing_secret = "not-the-apps-secret"
    refused = slack.verify_request_url(bolt.url)
    assert refused.status == 401 and refused.error is not None


def test_shortcut_payloads_carry_a_trigger_and_the_message(slack: SlackEmulator, bolt: Bolt) -> None:
    @bolt.app.shortcut("batch")
    @bolt.app.shortcut("listed")
    def shortcut(ack: Any, body: dict[str, Any]) -> None:
        ack()
        bolt.seen.append(body)

    ana = slack.user("U_ADMIN", app_url=bolt.url)
    message = slack.say("U_PLAIN", "C_FIN", "C-1\nC-2")
    assert ana.global_shortcut("batch").error is None
    assert ana.message_shortcut("listed", message).error is None

    global_, listed = slack.wait_for(lambda: len(bolt.seen) == 2 and bolt.seen)
    assert global_["type"] == "shortcut" and global_["callback_id"] == "batch" and global_["trigger_id"]
    assert "channel" not in global_ and "response_url" not in global_
    assert listed["type"] == "message_action" and listed["callback_id"] == "listed"
    assert listed["channel"]["id"] == "C_FIN" and listed["message_ts"] == message["ts"]
    assert listed["message"]["text"] == "C-1\nC-2" and listed["message"]["user"] == "U_PLAIN"
    assert "bot_id" not in listed["message"] and listed["response_url"] and listed["trigger_id"]


def test_usergroups_users_list_needs_its_scope(slack: SlackEmulator, client: WebClient) -> None:
    slack.set_usergroup("S0ADMINS", ["U_ADMIN", "U_PLAIN"])

    assert error_of(lambda: client.usergroups_users_list(usergroup="S0ADMINS")) == "missing_scope"
    slack.knobs.scopes = {*DEFAULT_SCOPES, "usergroups:read"}
    assert client.usergroups_users_list(usergroup="S0ADMINS")["users"] == ["U_ADMIN", "U_PLAIN"]
    assert error_of(lambda: client.usergroups_users_list(usergroup="S0NOPE")) == "no_such_subteam"
