"""The emulator's Web API, driven by the real slack_sdk WebClient over sockets: messages, threads, limits,
membership, users, auth, scopes, file uploads, rate limits and the transcript."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from devtools.slack_emulator import SlackEmulator


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_user("U_ADMIN", name="ana", is_admin=True)
        emulator.add_user("U_OWNER", name="olga", is_owner=True, is_primary_owner=True, tz="Europe/Berlin")
        emulator.add_user("U_PLAIN", name="bob")
        emulator.add_channel("C_FIN", name="finance")
        emulator.add_channel("C_OTHER", name="elsewhere", bot_member=False)
        yield emulator


@pytest.fixture
def client(slack: SlackEmulator) -> WebClient:
    return WebClient(base_url=slack.api_url, token=slack.bot_token)


def api_error(action: object) -> SlackApiError:
    """The SlackApiError a call raises (the call is a zero-argument lambda)."""
    assert callable(action)
    with pytest.raises(SlackApiError) as raised:
        action()
    return raised.value


# ---- messages and threads --------------------------------------------------------------------------------


def test_post_reply_update_and_delete_like_slack(slack: SlackEmulator, client: WebClient) -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "*Run 7* queued"}}
    parent = client.chat_postMessage(channel="C_FIN", text="Run 7 queued", blocks=[section])
    assert parent["channel"] == "C_FIN"
    assert parent["message"]["bot_id"] == slack.bot_id
    assert parent["message"]["blocks"][0]["block_id"]  # Slack fills in a missing block_id
    reply = client.chat_postMessage(
        channel="C_FIN", text="first error", thread_ts=parent["ts"], reply_broadcast=True
    )
    second = client.chat_postMessage(channel="C_FIN", text="second top-level")
    assert parent["ts"] < reply["ts"] < second["ts"]

    updated = client.chat_update(channel="C_FIN", ts=parent["ts"], text="Run 7 in progress", blocks=[section])
    client.chat_update(channel="C_FIN", ts=parent["ts"], text="Run 7 done")
    assert updated["ts"] == parent["ts"]

    messages = {message["ts"]: message for message in slack.messages("C_FIN")}
    assert messages[parent["ts"]]["text"] == "Run 7 done"
    assert messages[parent["ts"]]["blocks"] == []  # an update without blocks leaves none
    assert messages[parent["ts"]]["edited"] == 2
    assert messages[parent["ts"]]["thread_ts"] == parent["ts"]
    assert messages[parent["ts"]]["reply_count"] == 1
    assert messages[reply["ts"]]["thread_ts"] == parent["ts"]
    assert messages[second["ts"]]["thread_ts"] is None

    link = client.chat_getPermalink(channel="C_FIN", message_ts=reply["ts"])["permalink"]
    assert link.endswith(f"p{reply['ts'].replace('.', '')}?thread_ts={parent['ts']}&cid=C_FIN")

    client.chat_delete(channel="C_FIN", ts=parent["ts"])  # a parent with replies stays as a tombstone
    client.chat_delete(channel="C_FIN", ts=second["ts"])
    remaining = slack.messages("C_FIN")
    assert [(message["ts"], message["subtype"]) for message in remaining] == [
        (parent["ts"], "tombstone"),
        (reply["ts"], None),
    ]
    assert api_error(lambda: client.chat_update(channel="C_FIN", ts=second["ts"], text="x")).response[
        "error"
    ] == ("message_not_found")


def test_a_reply_to_an_unknown_or_a_reply_ts_is_accepted_but_seen_by_no_one(
    slack: SlackEmulator, client: WebClient
) -> None:
    parent = client.chat_postMessage(channel="C_FIN", text="parent")
    reply = client.chat_postMessage(channel="C_FIN", text="reply", thread_ts=parent["ts"])
    lost_one = client.chat_postMessage(channel="C_FIN", text="to a reply", thread_ts=reply["ts"])
    lost_two = client.chat_postMessage(channel="C_FIN", text="to nothing", thread_ts="1000000000.000001")
    assert lost_one["ok"] and lost_two["ok"]
    visible = {message["ts"] for message in slack.messages("C_FIN")}
    assert visible == {parent["ts"], reply["ts"]}
    assert "no one sees this" in slack.calls_to("chat.postMessage")[-1].note


def test_form_bodies_carry_blocks_as_json_strings(slack: SlackEmulator, client: WebClient) -> None:
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Hello"}}]
    sent = client.api_call(
        "chat.postMessage", data={"channel": "C_FIN", "text": "hi", "blocks": json.dumps(blocks)}
    )
    assert slack.messages("C_FIN")[0]["blocks"][0]["text"]["text"] == "Hello"
    assert slack.calls_to("chat.postMessage")[0].params["blocks"][0]["type"] == "header"
    bad = api_error(lambda: client.api_call("chat.postMessage", data={"channel": "C_FIN", "blocks": "[{"}))
    assert bad.response["error"] == "invalid_blocks_format"
    assert sent["ok"]


def test_message_limits_answer_slacks_errors(client: WebClient) -> None:
    divider = {"type": "divider"}
    too_many = api_error(lambda: client.chat_postMessage(channel="C_FIN", text="x", blocks=[divider] * 51))
    assert too_many.response["error"] == "invalid_blocks"
    assert too_many.response["errors"] == ["no more than 50 items allowed [json-pointer:/blocks]"]
    client.chat_postMessage(channel="C_FIN", text="fifty is fine", blocks=[divider] * 50)

    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    too_long = api_error(lambda: client.chat_postMessage(channel="C_FIN", text="x", blocks=[long_section]))
    assert too_long.response["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]

    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Go"},
        "action_id": "a",
        "value": "v" * 2001,
    }
    value = api_error(
        lambda: client.chat_postMessage(
            channel="C_FIN", text="x", blocks=[{"type": "actions", "elements": [button]}]
        )
    )
    assert value.response["errors"] == [
        "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]"
    ]

    # An action_id is unique within its block; two blocks may each have one of the same name.
    go = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "a"}
    twice = api_error(
        lambda: client.chat_postMessage(
            channel="C_FIN", text="x", blocks=[{"type": "actions", "elements": [go, go]}]
        )
    )
    assert twice.response["errors"] == ["duplicate action_id: a [json-pointer:/blocks/0]"]
    client.chat_postMessage(
        channel="C_FIN", text="x", blocks=[{"type": "actions", "elements": [go]} for _ in range(2)]
    )

    posted = client.chat_postMessage(channel="C_FIN", text="short")
    update = api_error(lambda: client.chat_update(channel="C_FIN", ts=posted["ts"], text="y" * 4001))
    assert update.response["error"] == "msg_too_long"
    empty = api_error(lambda: client.api_call("chat.postMessage", json={"channel": "C_FIN"}))
    assert empty.response["error"] == "no_text"


def test_membership_and_channel_errors(slack: SlackEmulator, client: WebClient) -> None:
    assert (
        api_error(lambda: client.chat_postMessage(channel="C_OTHER", text="x")).response["error"]
        == "not_in_channel"
    )
    assert api_error(lambda: client.chat_postMessage(channel="C_NOPE", text="x")).response["error"] == (
        "channel_not_found"
    )
    slack.invite_bot("C_OTHER")
    assert client.chat_postMessage(channel="#elsewhere", text="now a member")["channel"] == "C_OTHER"

    slack.add_channel("C_SMALL", name="small", members=["U_ADMIN"])
    ephemeral = client.chat_postEphemeral(channel="C_SMALL", user="U_ADMIN", text="only you")
    assert slack.ephemeral("U_ADMIN")[0]["ts"] == ephemeral["message_ts"]
    assert slack.ephemeral("U_PLAIN") == []
    refused = api_error(lambda: client.chat_postEphemeral(channel="C_SMALL", user="U_PLAIN", text="x"))
    assert refused.response["error"] == "user_not_in_channel"


def test_direct_messages(slack: SlackEmulator, client: WebClient) -> None:
    opened = client.conversations_open(users="U_PLAIN")
    dm = opened["channel"]["id"]
    assert dm.startswith("D")
    assert client.conversations_open(users=["U_PLAIN"])["channel"]["id"] == dm
    client.chat_postMessage(channel=dm, text="hello in private")
    client.chat_postMessage(channel="U_PLAIN", text="to the user id: the same DM")
    assert [message["text"] for message in slack.messages(dm)] == [
        "hello in private",
        "to the user id: the same DM",
    ]


def test_users_info_carries_the_admin_flags(client: WebClient) -> None:
    admin = client.users_info(user="U_ADMIN")["user"]
    owner = client.users_info(user="U_OWNER")["user"]
    plain = client.users_info(user="U_PLAIN")["user"]
    assert (admin["is_admin"], admin["is_owner"], admin["is_primary_owner"]) == (True, False, False)
    assert (owner["is_owner"], owner["is_primary_owner"], owner["tz"]) == (True, True, "Europe/Berlin")
    assert owner["tz_offset"] in (3600, 7200)
    assert (plain["is_admin"], plain["is_owner"], plain["name"], plain["real_name"]) == (
        False,
        False,
        "bob",
        "Bob",
    )
    assert api_error(lambda: client.users_info(user="U_NOBODY")).response["error"] == "user_not_found"


def test_tokens_and_scopes(slack: SlackEmulator, client: WebClient) -> None:
    wrong = WebClient(base_url=slack.api_url, token="xoxb-1-2-wrong")
    assert api_error(wrong.auth_test).response["error"] == "invalid_auth"
    assert api_error(WebClient(base_url=slack.api_url).auth_test).response["error"] == "not_authed"
    identity = client.auth_test()
    assert (identity["user_id"], identity["bot_id"], identity["team_id"]) == (
        slack.bot_user_id,
        slack.bot_id,
        slack.team_id,
    )
    slack.knobs.scopes.discard("users:read")
    missing = api_error(lambda: client.users_info(user="U_ADMIN")).response
    assert (missing["error"], missing["needed"]) == ("missing_scope", "users:read")


def test_socket_mode_takes_the_app_level_token_and_only_there(
    slack: SlackEmulator, client: WebClient
) -> None:
    app = WebClient(base_url=slack.api_url, token=slack.app_token)

    opened = app.apps_connections_open(app_token=slack.app_token)

    assert opened["url"].startswith("ws://") and f"app_id={slack.app_id}" in opened["url"]
    assert api_error(lambda: client.apps_connections_open(app_token=slack.bot_token)).response["error"] == (
        "not_allowed_token_type"
    )
    assert api_error(app.auth_test).response["error"] == "not_allowed_token_type"
    wrong = "xapp-1-A0APP00001-1-wrong"
    refused = api_error(lambda: WebClient(base_url=slack.api_url).apps_connections_open(app_token=wrong))
    assert refused.response["error"] == "invalid_auth"


def test_json_bodies_follow_slacks_rules(slack: SlackEmulator, client: WebClient) -> None:
    # users.info reads no JSON body: its arguments must come as a form (or query string).
    ignored = api_error(lambda: client.api_call("users.info", json={"user": "U_ADMIN"}))
    assert ignored.response["error"] == "user_not_found"
    assert client.api_call("users.info", params={"user": "U_ADMIN"})["user"]["id"] == "U_ADMIN"
    # A JSON body carries no token: it goes in the Authorization header.
    body = json.dumps({"token": slack.bot_token, "channel": "C_FIN", "text": "x"}).encode()
    request = urllib.request.Request(
        f"{slack.api_url}chat.postMessage",
        data=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    with urllib.request.urlopen(request) as answer:
        assert json.load(answer) == {"ok": False, "error": "not_authed"}


def test_knobs_inject_latency_and_failures(slack: SlackEmulator, client: WebClient) -> None:
    assert slack.slack_env() == {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.api_url,
    }
    slack.knobs.latency = 0.05
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.05
    slack.knobs.fail_next["chat.postMessage"] = "not_in_channel"
    assert (
        api_error(lambda: client.chat_postMessage(channel="C_FIN", text="x")).response["error"]
        == "not_in_channel"
    )
    assert client.chat_postMessage(channel="C_FIN", text="x")["ok"]


def test_transcript_reads_well_and_never_shows_the_token(slack: SlackEmulator, client: WebClient) -> None:
    client.chat_postMessage(channel="C_FIN", text="Run 7 queued")
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C_OTHER", text="x")
    WebClient(base_url=slack.api_url, token=slack.bot_token).api_call(
        "auth.test", data={"token": slack.bot_token}
    )
    transcript = slack.transcript()
    assert slack.bot_token not in transcript
    assert all("token" not in call.params for call in slack.calls)
    lines = transcript.splitlines()
    assert 'chat.postMessage channel=C_FIN text="Run 7 queued" -> ok ts=' in lines[0]
    assert lines[1].endswith("-> error not_in_channel")


# ---- files ----------------------------------------------------------------------------------------------


def test_files_upload_v2_lands_in_the_thread_with_the_exact_bytes(
    slack: SlackEmulator, client: WebClient
) -> None:
    parent = client.chat_postMessage(channel="C_FIN", text="Run 7 queued")
    content = "WID-0001\nWID-0002\nCustomer 'Zoë' ✓\n"
    uploaded = client.files_upload_v2(
        channel="C_FIN",
        thread_ts=parent["ts"],
        content=content,
        filename="resync-7-identifiers.txt",
        title="Identifiers of run 7",
        initial_comment="The identifiers of this run",
    )
    file_id = uploaded["file"]["id"]
    assert uploaded["files"] == [{"id": file_id, "title": "Identifiers of run 7"}]
    (stored,) = slack.files
    assert stored["content"] == content.encode()
    assert (stored["channel"], stored["thread_ts"], stored["name"]) == (
        "C_FIN",
        parent["ts"],
        "resync-7-identifiers.txt",
    )
    share = slack.messages("C_FIN")[-1]
    assert (share["thread_ts"], share["text"], share["files"][0]["id"]) == (
        parent["ts"],
        "The identifiers of this run",
        file_id,
    )
    upload = slack.calls_to("files.getUploadURLExternal")[0].params
    assert int(upload["length"]) == len(content.encode())

    # files.info (scope files:read, node-slack-sdk#1620) gives the file's permalink and its shares.
    info = client.files_info(file=file_id)["file"]
    assert info["shares"]["public"]["C_FIN"][0]["thread_ts"] == parent["ts"]
    assert info["permalink"].endswith(f"/{file_id}/resync-7-identifiers.txt")
    slack.knobs.scopes.discard("files:read")
    assert api_error(lambda: client.files_info(file=file_id)).response["error"] == "missing_scope"


def test_file_uploads_fail_like_slack(slack: SlackEmulator, client: WebClient) -> None:
    refused = api_error(lambda: client.files_upload_v2(channel="C_OTHER", content="x", filename="a.txt"))
    assert refused.response["error"] == "not_in_channel"
    by_name = api_error(lambda: client.files_upload_v2(channel="finance", content="x", filename="a.txt"))
    assert by_name.response["error"] == "invalid_arguments"
    assert "json-pointer:/channel_id" in by_name.response["response_metadata"]["messages"][0]
    slack.knobs.upload_fails = True
    with pytest.raises(urllib.error.HTTPError) as failed:
        client.files_upload_v2(channel="C_FIN", content="x", filename="a.txt")
    assert failed.value.code == 500
    assert slack.files == []


# ---- rate limits ----------------------------------------------------------------------------------------


def test_a_method_over_its_tier_answers_429_with_retry_after(slack: SlackEmulator, client: WebClient) -> None:
    slack.knobs.rate_limits["chat.update"] = 2
    posted = client.chat_postMessage(channel="C_FIN", text="Run 7")
    client.chat_update(channel="C_FIN", ts=posted["ts"], text="1")
    client.chat_update(channel="C_FIN", ts=posted["ts"], text="2")
    limited = api_error(lambda: client.chat_update(channel="C_FIN", ts=posted["ts"], text="3"))
    assert limited.response.status_code == 429
    assert limited.response["error"] == "ratelimited"
    assert 1 <= int(limited.response.headers["Retry-After"]) <= 60
    assert "Retry-After" in slack.transcript().splitlines()[-1]


def test_the_retry_handler_waits_out_a_429(slack: SlackEmulator) -> None:
    slack.knobs.rate_limits["chat.update"] = 1
    slack.knobs.rate_window = 1.0
    client = WebClient(
        base_url=slack.api_url,
        token=slack.bot_token,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    posted = client.chat_postMessage(channel="C_FIN", text="Run 7")
    client.chat_update(channel="C_FIN", ts=posted["ts"], text="1")
    started = time.monotonic()
    assert client.chat_update(channel="C_FIN", ts=posted["ts"], text="2")["ok"]
    assert time.monotonic() - started >= 1.0
    assert [call.status for call in slack.calls_to("chat.update")] == [200, 429, 200]
    assert slack.messages("C_FIN")[0]["text"] == "2"


def test_chat_post_message_is_limited_per_channel(slack: SlackEmulator, client: WebClient) -> None:
    slack.knobs.channel_post_burst = 2
    client.chat_postMessage(channel="C_FIN", text="1")
    client.chat_postMessage(channel="C_FIN", text="2")
    assert api_error(lambda: client.chat_postMessage(channel="C_FIN", text="3")).response.status_code == 429
    slack.invite_bot("C_OTHER")
    assert client.chat_postMessage(channel="C_OTHER", text="another channel has its own budget")["ok"]


def test_a_held_request_is_seen_when_released_and_never_if_its_caller_went_away(
    slack: SlackEmulator, client: WebClient
) -> None:
    posted = client.chat_postMessage(channel="C_FIN", text="first")
    slack.knobs.hold_requests.add("chat.update")
    # A caller that gives up (or is killed) while its request is held: Slack never sees the request.
    impatient = WebClient(base_url=slack.api_url, token=slack.bot_token, timeout=1)
    with pytest.raises(TimeoutError):
        impatient.chat_update(channel="C_FIN", ts=posted["ts"], text="lost")
    slack.wait_for(lambda: slack.held("chat.update") == 0 or None)
    assert slack.messages("C_FIN")[0]["text"] == "first"
    assert slack.calls_to("chat.update") == []
    # A caller that waits: its request is done once released.
    answered: list[str] = []

    def update() -> None:
        answered.append(client.chat_update(channel="C_FIN", ts=posted["ts"], text="kept")["ts"])

    waiting = threading.Thread(target=update)
    waiting.start()
    slack.wait_for(lambda: slack.held("chat.update") == 1 or None)
    assert slack.messages("C_FIN")[0]["text"] == "first"
    slack.knobs.hold_requests.clear()
    waiting.join(timeout=10)
    assert answered == [posted["ts"]]
    assert slack.messages("C_FIN")[0]["text"] == "kept"
    assert len(slack.calls_to("chat.update")) == 1
