"""The emulator's client side against a real Bolt app over HTTP: signed slash commands, typing in a modal,
submits, button clicks on ephemeral and channel messages, response URLs, and the trigger/view rules that
the app's calls back into the emulator meet on the way."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from kits.bolt_app import Bolt
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from devtools.slack_emulator import ClientRejected, SlackEmulator


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def resync_modal(*, counter: str = "0 identifiers", ids_action: str = "ids_input") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "resync_modal",
        "title": plain("Workday resync"),
        "submit": plain("Review"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps({"channel_id": "C_FIN"}),
        "blocks": [
            {
                "type": "input",
                "block_id": "ids",
                "dispatch_action": True,
                "label": plain("Identifiers"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids_action,
                    "multiline": True,
                    "max_length": 3000,
                    "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
                },
            },
            {
                "type": "input",
                "block_id": "kind",
                "label": plain("Identifier type"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": "kind_choice",
                    "options": [option("Workday ID", "wid"), option("Reference", "reference")],
                    "initial_option": option("Workday ID", "wid"),
                },
            },
            {"type": "context", "block_id": "counter", "elements": [{"type": "mrkdwn", "text": counter}]},
        ],
    }


def api_error(action: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as raised:
        action()
    data = raised.value.response.data
    assert isinstance(data, dict)
    return data


def open_modal_on_command(bolt: Bolt) -> None:
    @bolt.app.command("/workday-resync")
    def command(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=resync_modal())


# ---- slash commands and signatures -----------------------------------------------------------------------


def test_a_slash_command_arrives_signed_and_parses_in_bolt(slack: SlackEmulator, bolt: Bolt) -> None:
    @bolt.app.command("/workday-resync")
    def command(ack: Any, body: dict[str, Any], command: dict[str, Any]) -> None:
        bolt.seen.append(command)
        ack(text=f"{len(command['text'].split())} words") if command["text"] else ack()

    user = slack.user("U_ADMIN", app_url=bolt.url)
    response = user.slash_command("/workday-resync", text="history page 2", channel="C_FIN")
    assert (response.status, response.error) == (200, None)
    (body,) = bolt.seen
    assert {key: body[key] for key in ("team_id", "channel_id", "channel_name", "user_id", "user_name")} == {
        "team_id": slack.team_id,
        "channel_id": "C_FIN",
        "channel_name": "finance",
        "user_id": "U_ADMIN",
        "user_name": "ana",
    }
    assert (body["command"], body["text"], body["api_app_id"]) == (
        "/workday-resync",
        "history page 2",
        slack.app_id,
    )
    assert body["response_url"].startswith(f"{slack.base_url}/response/")
    assert re.fullmatch(r"\d+\.\d+\.[0-9a-f]+", body["trigger_id"])
    # The answer's text is shown to the user alone.
    assert [message["text"] for message in slack.ephemeral("U_ADMIN")] == ["3 words"]

    (delivery,) = slack.deliveries
    assert (delivery.kind, delivery.status, delivery.error) == ("slash_command", 200, None)
    assert 0 < delivery.elapsed < 3
    assert 'Slack -> app slash_command /workday-resync "history page 2" in C_FIN by U_ADMIN: HTTP 200' in (
        slack.transcript()
    )

    signed = user.sign(b"token=x&text=y", timestamp=1732665600)
    expected = SignatureVerifier(slack.signing_secret).generate_signature(
        timestamp="1732665600", body="token=x&text=y"
    )
    assert signed == {"X-Slack-Request-Timestamp": "1732665600", "X-Slack-Signature": expected}


def test_bolt_refuses_a_request_signed_with_another_secret(slack: SlackEmulator, bolt: Bolt) -> None:
    slack.signing_secret = "not-the-apps-secret"
    response = slack.user("U_ADMIN", app_url=bolt.url).slash_command("/workday-resync", channel="C_FIN")
    assert (response.status, response.error) == (401, "dispatch_failed")


def test_a_slow_answer_is_an_operation_timeout(slack: SlackEmulator, bolt: Bolt) -> None:
    @bolt.app.command("/workday-resync")
    def command(ack: Any) -> None:
        time.sleep(0.5)
        ack()

    slack.knobs.ack_timeout = 0.2
    response = slack.user("U_ADMIN", app_url=bolt.url).slash_command("/workday-resync", channel="C_FIN")
    assert (response.status, response.error) == (0, "operation_timeout")
    assert "FAILED: operation_timeout" in slack.transcript()


# ---- trigger ids and views ---------------------------------------------------------------------------------


def test_views_open_takes_a_fresh_trigger_once(slack: SlackEmulator, bolt: Bolt, client: WebClient) -> None:
    @bolt.app.command("/workday-resync")
    def command(ack: Any, body: dict[str, Any]) -> None:
        bolt.seen.append(body)
        ack()

    user = slack.user("U_ADMIN", app_url=bolt.url)
    user.slash_command("/workday-resync", channel="C_FIN")
    trigger = bolt.seen[-1]["trigger_id"]
    view = client.views_open(trigger_id=trigger, view=resync_modal())["view"]
    assert view["id"] in slack.views
    assert (view["callback_id"], view["state"], view["root_view_id"]) == (
        "resync_modal",
        {"values": {}},
        view["id"],
    )
    assert slack.views[view["id"]]["user"] == "U_ADMIN"
    assert user.open_view()["id"] == view["id"]

    assert api_error(lambda: client.views_open(trigger_id=trigger, view=resync_modal()))["error"] == (
        "exchanged_trigger_id"
    )
    assert api_error(lambda: client.views_open(trigger_id="1.2.abc", view=resync_modal()))["error"] == (
        "invalid_trigger_id"
    )
    slack.knobs.trigger_ttl = 0.05
    user.slash_command("/workday-resync", channel="C_FIN")
    time.sleep(0.1)
    expired = api_error(
        lambda: client.views_open(trigger_id=bolt.seen[-1]["trigger_id"], view=resync_modal())
    )
    assert expired["error"] == "expired_trigger_id"


def test_invalid_views_answer_invalid_arguments(slack: SlackEmulator, bolt: Bolt, client: WebClient) -> None:
    @bolt.app.command("/workday-resync")
    def command(ack: Any, body: dict[str, Any]) -> None:
        bolt.seen.append(body)
        ack()

    slack.user("U_ADMIN", app_url=bolt.url).slash_command("/workday-resync", channel="C_FIN")
    trigger = bolt.seen[0]["trigger_id"]

    def problems(view: dict[str, Any]) -> list[str]:
        data = api_error(lambda: client.views_open(trigger_id=trigger, view=view))
        assert data["error"] == "invalid_arguments"
        messages: list[str] = data["response_metadata"]["messages"]
        return messages

    assert problems({**resync_modal(), "title": plain("x" * 25)}) == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    divider = {"type": "divider"}
    assert problems({**resync_modal(), "blocks": [divider] * 101}) == [
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    ]
    assert problems({**resync_modal(), "private_metadata": "m" * 3001}) == [
        "[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]"
    ]
    too_long_input = resync_modal()
    too_long_input["blocks"][0]["element"]["max_length"] = 3001
    assert problems(too_long_input) == [
        "[ERROR] must be less than or equal to 3000 [json-pointer:/view/blocks/0/element/max_length]"
    ]
    no_submit = {key: value for key, value in resync_modal().items() if key != "submit"}
    assert problems(no_submit) == ["[ERROR] missing required field: submit [json-pointer:/view]"]
    # A refused view leaves the trigger unused.
    assert client.views_open(trigger_id=trigger, view=resync_modal())["ok"]


def test_typing_dispatches_block_actions_and_updates_keep_typed_input(
    slack: SlackEmulator, bolt: Bolt, client: WebClient
) -> None:
    open_modal_on_command(bolt)

    @bolt.app.action("ids_input")
    def typed(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        bolt.seen.append(body)
        value = body["view"]["state"]["values"]["ids"]["ids_input"]["value"]
        counter = f"{len(value.split())} identifiers"
        client.views_update(
            view_id=body["view"]["id"], hash=body["view"]["hash"], view=resync_modal(counter=counter)
        )

    user = slack.user("U_ADMIN", app_url=bolt.url)
    user.slash_command("/workday-resync", channel="C_FIN")
    opened = user.open_view()
    first_hash = opened["hash"]
    response = user.type("ids", "ids_input", "WID-1 WID-2\nWID-3")
    assert response is not None and response.status == 200

    def counter_text() -> str:
        text: str = user.open_view()["blocks"][2]["elements"][0]["text"]
        return text

    slack.wait_for(lambda: counter_text() == "3 identifiers")
    (body,) = bolt.seen
    assert body["type"] == "block_actions"
    assert body["container"] == {"type": "view", "view_id": opened["id"]}
    assert body["actions"][0] | {"action_ts": "x"} == {
        "type": "plain_text_input",
        "block_id": "ids",
        "action_id": "ids_input",
        "value": "WID-1 WID-2\nWID-3",
        "action_ts": "x",
    }
    assert (body["view"]["callback_id"], body["view"]["hash"]) == ("resync_modal", first_hash)
    assert json.loads(body["view"]["private_metadata"]) == {"channel_id": "C_FIN"}
    assert (body["user"]["id"], body["team"]["id"], body["api_app_id"]) == (
        "U_ADMIN",
        slack.team_id,
        slack.app_id,
    )
    assert "response_url" not in body

    # The update kept what was typed (same block_id and action_id) and changed the hash.
    now = user.open_view()
    assert now["state"]["values"]["ids"]["ids_input"]["value"] == "WID-1 WID-2\nWID-3"
    assert now["hash"] != first_hash
    stale = api_error(lambda: client.views_update(view_id=opened["id"], hash=first_hash, view=resync_modal()))
    assert stale["error"] == "hash_conflict"
    # A new action_id is a new input: what was typed is gone.
    client.views_update(view_id=opened["id"], hash=now["hash"], view=resync_modal(ids_action="ids_input_v2"))
    assert user.open_view()["state"]["values"]["ids"]["ids_input_v2"]["value"] is None
    assert (
        api_error(lambda: client.views_update(view_id="V999999999", view=resync_modal()))["error"]
        == "not_found"
    )


def test_submit_applies_errors_update_and_close(slack: SlackEmulator, bolt: Bolt) -> None:
    open_modal_on_command(bolt)
    done = {
        "type": "modal",
        "callback_id": "done",
        "title": plain("Done"),
        "blocks": [],
        "close": plain("OK"),
    }

    @bolt.app.action("ids_input")
    def typed(ack: Any) -> None:
        ack()

    @bolt.app.view("resync_modal")
    def submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        bolt.seen.append(body)
        values = view["state"]["values"]
        if "bad" in values["ids"]["ids_input"]["value"]:
            ack(response_action="errors", errors={"ids": "WID bad is not a Workday ID"})
        elif values["kind"]["kind_choice"]["selected_option"]["value"] == "reference":
            ack(response_action="update", view=done)
        else:
            ack()

    user = slack.user("U_ADMIN", app_url=bolt.url)
    user.slash_command("/workday-resync", channel="C_FIN")
    view_id = user.open_view()["id"]
    with pytest.raises(ClientRejected) as rejected:
        user.submit()
    assert rejected.value.errors == {"ids": "Please complete this required field."}

    user.type("ids", "ids_input", "bad")
    response = user.submit()
    assert response.json == {"response_action": "errors", "errors": {"ids": "WID bad is not a Workday ID"}}
    assert response.error is None and view_id in slack.views
    submission = bolt.seen[-1]
    assert (submission["type"], submission["view"]["id"], submission["response_urls"]) == (
        "view_submission",
        view_id,
        [],
    )
    assert submission["trigger_id"] and submission["view"]["state"]["values"]["kind"]["kind_choice"][
        "selected_option"
    ] == option("Workday ID", "wid")

    user.type("ids", "ids_input", "WID-1")
    assert user.select_radio("kind", "kind_choice", "reference") is None  # no dispatch_action on this input
    assert user.submit().error is None
    assert slack.views[view_id]["view"]["title"]["text"] == "Done"
    with pytest.raises(LookupError):
        user.submit()  # the new view has no submit button

    user.slash_command("/workday-resync", channel="C_FIN")
    slack.wait_for(lambda: user.open_view()["id"] != view_id)
    user.type("ids", "ids_input", "WID-2")
    assert user.submit().body == ""
    assert slack.views == {}


def test_errors_must_name_input_blocks(slack: SlackEmulator, bolt: Bolt) -> None:
    open_modal_on_command(bolt)

    @bolt.app.action("ids_input")
    def typed(ack: Any) -> None:
        ack()

    @bolt.app.view("resync_modal")
    def submitted(ack: Any) -> None:
        ack(response_action="errors", errors={"counter": "not an input"})

    user = slack.user("U_ADMIN", app_url=bolt.url)
    user.slash_command("/workday-resync", channel="C_FIN")
    user.open_view()
    user.type("ids", "ids_input", "WID-1")
    error = user.submit().error
    assert error is not None and error.startswith("invalid_response")


def test_a_button_in_a_modal_pushes_views_up_to_three(slack: SlackEmulator, bolt: Bolt) -> None:
    def level(number: int) -> dict[str, Any]:
        more = {"type": "button", "action_id": "more", "text": plain("More")}
        intro = {"type": "section", "block_id": "intro", "text": plain(f"Level {number}"), "accessory": more}
        return {"type": "modal", "callback_id": "level", "title": plain(f"Level {number}"), "blocks": [intro]}

    @bolt.app.command("/workday-resync")
    def command(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=level(1))

    @bolt.app.action("more")
    def more(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        bolt.seen.append(body)
        number = int(body["view"]["title"]["text"].split()[1])
        try:
            client.views_push(
                trigger_id=body["trigger_id"], view={**level(number + 1), "submit": plain("Back")}
            )
        except SlackApiError as failure:
            bolt.seen.append({"error": failure.response["error"]})

    @bolt.app.view("level")
    def back(ack: Any) -> None:
        ack()

    user = slack.user("U_ADMIN", app_url=bolt.url)
    user.slash_command("/workday-resync", channel="C_FIN")
    root = user.open_view()
    user.click("more")
    slack.wait_for(lambda: user.open_view()["title"]["text"] == "Level 2")
    user.click("more")
    third = slack.wait_for(lambda: (view := user.open_view())["title"]["text"] == "Level 3" and view)
    assert (third["root_view_id"], bolt.seen[0]["container"]) == (
        root["id"],
        {"type": "view", "view_id": root["id"]},
    )
    user.click("more")
    slack.wait_for(lambda: bolt.seen[-1] == {"error": "push_limit_reached"})
    assert user.submit().error is None  # closes the pushed view on top only
    assert user.open_view()["title"]["text"] == "Level 2"
    assert len(slack.views) == 2


# ---- buttons and response URLs -----------------------------------------------------------------------------


def confirm_blocks(run: str) -> list[dict[str, Any]]:
    confirm = {
        "title": plain("Sure?"),
        "text": plain("This overwrites."),
        "confirm": plain("Yes"),
        "deny": plain("No"),
    }
    button = {
        "type": "button",
        "action_id": "confirm_resync",
        "text": plain("Confirm"),
        "value": run,
        "style": "danger",
        "confirm": confirm,
    }
    return [
        {
            "type": "section",
            "block_id": "summary",
            "text": {"type": "mrkdwn", "text": "Re-import 3 customers?"},
        },
        {"type": "actions", "block_id": "decide", "elements": [button]},
    ]


def test_an_ephemeral_button_answers_through_its_response_url(
    slack: SlackEmulator, bolt: Bolt, client: WebClient
) -> None:
    @bolt.app.command("/workday-resync")
    def command(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.chat_postEphemeral(
            channel=body["channel_id"],
            user=body["user_id"],
            text="Confirm run 7?",
            blocks=confirm_blocks("7"),
        )

    @bolt.app.action("confirm_resync")
    def confirmed(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        bolt.seen.append(body)
        dismiss = {"type": "button", "action_id": "dismiss", "text": plain("Dismiss")}
        blocks = [{"type": "actions", "block_id": "after", "elements": [dismiss]}]
        respond(replace_original=True, text=f"Run {body['actions'][0]['value']} confirmed", blocks=blocks)

    @bolt.app.action("dismiss")
    def dismissed(ack: Any, respond: Any) -> None:
        ack()
        respond(delete_original=True)

    user = slack.user("U_ADMIN", app_url=bolt.url)
    user.slash_command("/workday-resync", channel="C_FIN")
    (ephemeral,) = slack.wait_for(lambda: slack.ephemeral("U_ADMIN"))
    assert slack.ephemeral("U_PLAIN") == []
    assert user.click("confirm_resync").status == 200

    replaced = slack.wait_for(lambda: [e for e in slack.ephemeral("U_ADMIN") if e["edited"] == 1])
    assert (replaced[0]["ts"], replaced[0]["text"]) == (ephemeral["ts"], "Run 7 confirmed")
    (body,) = bolt.seen
    assert body["container"] == {
        "type": "message",
        "message_ts": ephemeral["ts"],
        "channel_id": "C_FIN",
        "is_ephemeral": True,
    }
    assert "message" not in body  # Slack keeps no copy of an ephemeral message
    assert body["channel"] == {"id": "C_FIN", "name": "finance"}
    assert body["response_url"].startswith(f"{slack.base_url}/response/")
    action = body["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "confirm_resync",
        "decide",
        "7",
        "button",
    )
    assert action["action_ts"] and body["trigger_id"]

    user.click("dismiss", message=replaced[0])
    slack.wait_for(lambda: slack.ephemeral("U_ADMIN") == [])

    # A response_url takes five posts: the replace was the first.
    webhook = WebhookClient(body["response_url"])
    answers = [webhook.send(text=f"note {number}") for number in range(5)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 404]
    assert json.loads(answers[-1].body)["error"] == "used_url"


def test_a_channel_message_button_carries_the_message(
    slack: SlackEmulator, bolt: Bolt, client: WebClient
) -> None:
    @bolt.app.action("confirm_resync")
    def confirmed(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        bolt.seen.append(body)
        respond(replace_original=True, text="Queued")

    posted = client.chat_postMessage(channel="C_FIN", text="Confirm run 8?", blocks=confirm_blocks("8"))
    (message,) = slack.messages("C_FIN")
    slack.user("U_PLAIN", app_url=bolt.url).click("confirm_resync", message=message)
    slack.wait_for(lambda: slack.messages("C_FIN")[0]["edited"] == 1)
    assert slack.messages("C_FIN")[0]["text"] == "Queued"
    (body,) = bolt.seen
    assert body["container"]["is_ephemeral"] is False
    assert (body["message"]["ts"], body["message"]["text"]) == (posted["ts"], "Confirm run 8?")
    assert body["user"]["id"] == "U_PLAIN"
