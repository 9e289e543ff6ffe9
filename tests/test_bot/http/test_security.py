"""Only fresh requests Slack signed, each accepted once across app processes; admins only at every entry
point; secrets never in reprs, error messages or anything sent to Slack."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from kits.hostile import post_signed, store_counts
from kits.slack_bot import ADMIN, CHANNEL, PLAIN, Bot, synchronize
from pydantic import SecretStr

from bot import messages
from bot.app import build_app
from bot.http_server import SlackHttpServer
from bot.ids import COMMAND, ActionId, BlockId
from bot.replay import REPLAY_WINDOW_SECONDS, RedisSeen
from bot.settings import AppSettings
from devtools.slack_emulator import SlackUser
from devtools.slack_emulator.state import ResponseTarget
from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.errors import SettingsError
from sync_engine.settings import load_settings
from sync_engine.store.database import Database

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _command(bot: Bot, text: str = "help", user: str = ADMIN) -> bytes:
    ws = bot.slack._ws
    fields = {
        "command": COMMAND,
        "text": text,
        "user_id": user,
        "channel_id": CHANNEL,
        "team_id": ws.team_id,
        "response_url": ws.issue_response_url(ResponseTarget(user, CHANNEL, None, True)),
    }
    return urlencode(fields).encode()


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers={**FORM, **headers}, method="POST")
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
def second_process(hostile_bot: Bot, redis_url: str) -> Iterator[tuple[str, str]]:
    """Two app instances sharing only Redis (REDIS_URL), as two `serve` processes behind a balancer."""
    redis.Redis.from_url(redis_url).flushdb()
    settings = hostile_bot.settings.model_copy(update={"redis_url": redis_url})
    first = SlackHttpServer(build_app(settings, hostile_bot.service)).start()
    second = SlackHttpServer(build_app(settings, hostile_bot.service)).start()
    try:
        yield first.url, second.url
    finally:
        first.close()
        second.close()


def test_signatures_bad_missing_stale_or_replayed_get_401_across_processes(
    hostile_bot: Bot, second_process: tuple[str, str], redis_url: str
) -> None:
    first, second = second_process
    sign = hostile_bot.user(ADMIN).sign
    body = _command(hostile_bot)
    signed = sign(body)
    calls = len(hostile_bot.slack.calls_to("users.info"))

    assert _post(first, body, {}) == 401  # missing
    assert _post(first, body, {**signed, "X-Slack-Signature": "v0=" + "0" * 64}) == 401  # bad
    assert _post(first, body, sign(body, timestamp=int(time.time()) - 5 * 60 - 10)) == 401  # stale
    assert _post(first, body, signed) == 200
    assert _post(second, body, signed) == 401  # the same request again, at another process
    assert _post(first, body, signed) == 401
    assert (
        _post(first, body, sign(body, timestamp=int(signed["X-Slack-Request-Timestamp"]) - 1)) == 200
    )  # a new one

    ttl = redis.Redis.from_url(redis_url).ttl(RedisSeen.PREFIX + signed["X-Slack-Signature"])
    assert REPLAY_WINDOW_SECONDS - 10 < ttl <= REPLAY_WINDOW_SECONDS
    assert len(hostile_bot.slack.calls_to("users.info")) - calls <= 1  # only accepted requests got in


def test_a_replay_is_refused_without_redis_too(hostile_bot: Bot) -> None:
    body = _command(hostile_bot, "history")
    signed = hostile_bot.user(ADMIN).sign(body)
    assert [_post(hostile_bot.server.url, body, signed) for _ in range(3)] == [200, 401, 401]


# --- admins only -----------------------------------------------------------------------------------------

REFUSAL = messages.refusal().text


def _plant_button(bot: Bot, user: str, action: ActionId, value: str) -> dict[str, Any]:
    ws = bot.slack._ws
    block = {
        "type": "actions",
        "block_id": "planted",
        "elements": [
            {
                "type": "button",
                "action_id": action.value,
                "value": value,
                "text": {"type": "plain_text", "text": "x"},
            }
        ],
    }
    planted = ws.post_ephemeral(ws.channels[CHANNEL], user, text="planted", blocks=[block], thread_ts=None)
    return {"channel": CHANNEL, "ts": planted.ts, "is_ephemeral": True}


def _forged_submit(bot: Bot, user: str, view: dict[str, Any]) -> tuple[int, str]:
    ws = bot.slack._ws
    payload = {
        "type": "view_submission",
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "user": {"id": user, "username": user, "team_id": ws.team_id},
        "api_app_id": ws.app_id,
        "view": view,
    }
    return post_signed(bot.user(user), payload)


ENTRY_POINTS = [
    "command",
    "command history",
    "command help",
    "command status",
    "command records 1",
    "counter",
    "submit",
    "back",
    "show more",
    "full error",
]


def _refusals(bot: Bot, user: str) -> list[dict[str, Any]]:
    """Refusals shown to `user`: ephemeral where the form was opened, else (a form that was not theirs
    names no channel the app trusts) in their direct conversation with the app."""
    shown = [*bot.slack.ephemeral(user), *bot.slack.messages(bot.slack._ws.dm(user).id)]
    return [message for message in shown if message["text"] == REFUSAL]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_non_admin_is_refused_at_every_entry_point(
    hostile_bot: Bot, hostile_database: Database, entry: str
) -> None:
    bot = hostile_bot
    run = bot.service.create_draft(IdentifierType.REFERENCE, ["C-000001"], requested_by=PLAIN)
    failed = bot.service.submit(IdentifierType.REFERENCE, ["C-404404"], requested_by="cli:ops")
    bot.wait_run(failed.id)
    before = store_counts(hostile_database)
    history = bot.service.history(limit=100)
    bob: SlackUser = bot.user(PLAIN)
    # An admin's modal, whose payloads are re-sent as Bob's.
    view = bot.open_request(bot.user(ADMIN)) if entry in ("counter", "submit") else {}
    refused = len(_refusals(bot, PLAIN))
    views = len(bot.slack.calls_to("views.open"))

    if entry.startswith("command"):
        assert (
            bob.slash_command(COMMAND, text=entry.removeprefix("command").strip(), channel=CHANNEL).status
            == 200
        )
    elif entry in ("counter", "submit"):
        view["state"]["values"][BlockId.IDENTIFIERS][ActionId.IDENTIFIERS]["value"] = "C-000009"
        if entry == "submit":
            status, body = _forged_submit(bot, PLAIN, view)
            assert status == 200
            assert json.loads(body) == {"response_action": "errors", "errors": {BlockId.IDENTIFIERS: REFUSAL}}
        else:
            payload = {
                "type": "block_actions",
                "user": {"id": PLAIN, "username": "bob"},
                "container": {"type": "view", "view_id": view["id"]},
                "view": view,
                "actions": [
                    {
                        "type": "plain_text_input",
                        "action_id": ActionId.IDENTIFIERS,
                        "block_id": BlockId.IDENTIFIERS,
                        "value": "C-1",
                        "action_ts": "1.0",
                    }
                ],
            }
            assert post_signed(bob, payload)[0] == 200
    else:
        action, value = {
            "back": (ActionId.BACK, str(run.id)),
            "show more": (ActionId.HISTORY_MORE, "0"),
            "full error": (ActionId.HISTORY_ERROR, str(failed.id)),
        }[entry]
        assert bob.click(action, message=_plant_button(bot, PLAIN, action, value)).status == 200

    if entry != "submit":  # a refused submission answers under the input, not in a message
        bot.wait_for(lambda: len(_refusals(bot, PLAIN)) > refused)
    assert store_counts(hostile_database) == before
    assert bot.service.get(run.id).status is RunStatus.DRAFT
    assert bot.service.history(limit=100) == history
    assert len(bot.slack.calls_to("views.open")) == views
    if view:  # Bob's keystroke did not update the counter of the modal it named
        assert "*1 customer selected*" not in json.dumps(bot.slack.views[view["id"]]["view"]["blocks"])
    seen = json.dumps([e["blocks"] for e in bot.slack.ephemeral(PLAIN)])
    assert "Batch synchronizations" not in seen and "C-404404" not in seen  # no history, no records


# --- secrets ---------------------------------------------------------------------------------------------


def _secrets(bot: Bot) -> list[str]:
    return [
        bot.slack.bot_token,
        bot.slack.signing_secret,
        bot.sandbox.client_secret,
        bot.sandbox.refresh_token,
    ]


def test_secrets_are_in_no_repr(hostile_bot: Bot) -> None:
    bot = hostile_bot
    objects: list[Any] = [bot.settings, bot.settings.workday(), bot.rt, bot.rt.workday_client, bot.service]
    for shown in map(repr, objects):
        for secret in _secrets(bot):
            assert secret not in shown, shown


def test_passwords_in_the_store_and_redis_urls_are_in_no_repr(hostile_bot: Bot) -> None:
    settings = hostile_bot.settings.model_copy(
        update={
            "database_url": "postgresql://ops:pg-pass-123@db/ar",
            "redis_url": "redis://:redis-pass-456@r:6379/0",
        }
    )
    for shown in (repr(settings), str(settings), repr(Database("postgresql://ops:pg-pass-123@db/ar"))):
        assert "pg-pass-123" not in shown and "redis-pass-456" not in shown, shown


def test_a_secret_in_the_wrong_setting_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "xoxb-000-not-for-your-eyes"
    for name, value in (("WORKDAY_MAX_IN_FLIGHT", secret), ("WORKDAY_BASE_URL", f"ftp://{secret}")):
        monkeypatch.setenv(name, value)
        load_settings.cache_clear()
        with pytest.raises(SettingsError) as refused:
            load_settings()
        assert name in str(refused.value) and secret not in str(refused.value)
        monkeypatch.delenv(name)
    load_settings.cache_clear()
    with pytest.raises(SettingsError) as missing:
        AppSettings(slack_signing_secret=SecretStr(secret)).workday()
    assert secret not in str(missing.value)


def test_revoked_credentials_end_the_run_with_a_message_that_holds_no_secret(
    hostile_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = hostile_bot
    bot.sandbox.knobs.revoked = True
    try:
        ana = bot.user(ADMIN)
        bot.open_request(ana)
        ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
        ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "C-000002")
        run_id = synchronize(ana)
        ana.submit()  # Confirm
        run = bot.wait_run(run_id, timeout=60)
        bot.wait_for(lambda: [r for r in bot.replies() if "ended in error" in r["text"]])
    finally:
        bot.sandbox.knobs.revoked = False

    assert run.status is RunStatus.ERROR and run.error
    sent = json.dumps([call.params for call in bot.slack.calls], ensure_ascii=False)
    logged = "\n".join(
        record.getMessage() + json.dumps(record.__dict__, default=str) for record in caplog.records
    )
    for secret in _secrets(bot):
        assert secret not in run.error
        assert secret not in sent
        assert secret not in logged
