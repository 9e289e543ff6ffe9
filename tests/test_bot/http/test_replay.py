"""Replays when the replay guard's memory fails: Redis down (nothing can be checked, so nothing is let
through) and Redis restarted (the seen signatures are gone, yet a replayed submission or click creates
nothing). The app runs on a Redis server of the test's own, never the shared one."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kits.hostile import LoggedErrors, store_counts
from kits.reliability import PrivateRedis
from kits.slack_bot import ADMIN, CHANNEL, Bot, status_posts

from bot.app import build_app
from bot.handlers.views import FORM_UNREADABLE
from bot.http_server import SlackHttpServer
from bot.ids import COMMAND, ActionId, BlockId
from devtools.slack_emulator import SlackUser
from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.store.database import Database

#: What the admin types: it must reach no log line.
MARKER = "C-000011"


@pytest.fixture
def redis_app(hostile_bot: Bot, tmp_path: Path) -> Iterator[tuple[PrivateRedis, str]]:
    """The app (on the hostile bot's engine) with REDIS_URL on a Redis server of this test's own."""
    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    settings = hostile_bot.settings.model_copy(update={"redis_url": redis_server.url})
    server = SlackHttpServer(build_app(settings, hostile_bot.service)).start()
    try:
        yield redis_server, server.url
    finally:
        server.close()
        redis_server.stop()


def fill_in(bot: Bot, user: SlackUser) -> None:
    bot.open_request(user)
    user.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    user.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, MARKER)
    bot.wait_for(lambda: "*1 customer selected*" in json.dumps(user.open_view()["blocks"]))


def planted_button(bot: Bot) -> dict[str, Any]:
    """A message with a button of the app's (history paging) shown to the admin."""
    ws = bot.slack._ws
    button = {"type": "button", "action_id": ActionId.HISTORY_MORE.value, "value": "0"}
    blocks = [
        {
            "type": "actions",
            "block_id": "more",
            "elements": [{**button, "text": {"type": "plain_text", "text": "More"}}],
        }
    ]
    shown = ws.post_ephemeral(ws.channels[CHANNEL], ADMIN, text="runs", blocks=blocks, thread_ts=None)
    return {"channel": CHANNEL, "ts": shown.ts, "is_ephemeral": True}


def test_with_redis_down_requests_get_503_and_nothing_is_acted_on(
    hostile_bot: Bot,
    hostile_database: Database,
    redis_app: tuple[PrivateRedis, str],
    app_errors: LoggedErrors,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot = hostile_bot
    redis_server, url = redis_app
    ana = bot.slack.user(ADMIN, app_url=url)
    draft = bot.service.create_draft(IdentifierType.REFERENCE, ["C-000001"], requested_by=ADMIN)
    fill_in(bot, ana)
    redis_server.stop()
    before = store_counts(hostile_database)
    caplog.clear()

    submitted = ana.submit()
    command = ana.slash_command(COMMAND, text="history", channel=CHANNEL)
    clicked = ana.click(ActionId.HISTORY_MORE, message=planted_button(bot))

    assert [submitted.status, command.status, clicked.status] == [503, 503, 503]
    assert store_counts(hostile_database) == before
    assert bot.service.get(draft.id).status is RunStatus.DRAFT
    refusals = [r for r in caplog.records if r.name == "bot.replay"]
    assert [r.levelno for r in refusals] == [logging.WARNING] * 3  # one line per request
    logged = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert MARKER not in logged and "history" not in logged  # no body
    assert app_errors() == []


def test_after_a_redis_restart_a_replayed_submission_or_confirm_creates_nothing(
    hostile_bot: Bot,
    hostile_database: Database,
    redis_app: tuple[PrivateRedis, str],
    app_errors: LoggedErrors,
) -> None:
    bot = hostile_bot
    redis_server, url = redis_app
    ana = bot.slack.user(ADMIN, app_url=url)
    fill_in(bot, ana)
    assert ana.submit().error is None  # Synchronize
    submission = ana.last_sent
    run_id = int(json.loads(ana.open_view()["private_metadata"])["run_id"])
    assert ana.submit().error is None  # Confirm
    confirm = ana.last_sent
    assert submission is not None and confirm is not None
    bot.wait_run(run_id)
    assert ana.resend(submission).status == 401  # Redis remembers the signature
    posted = len(status_posts(bot.slack))
    before = store_counts(hostile_database)

    redis_server.restart()  # every seen signature forgotten
    replayed = ana.resend(submission)
    replayed_confirm = ana.resend(confirm)

    assert (replayed.status, replayed_confirm.status) == (200, 200)  # let through: no memory of either
    # Neither stores nor queues anything: the form's record went with Redis.
    assert replayed.json == {"response_action": "errors", "errors": {BlockId.IDENTIFIERS: FORM_UNREADABLE}}
    assert replayed_confirm.json["response_action"] == "update"
    assert FORM_UNREADABLE in json.dumps(replayed_confirm.json["view"]["blocks"])
    assert store_counts(hostile_database) == before
    assert [run.id for run in bot.service.history(limit=100)].count(run_id) == 1
    assert len(status_posts(bot.slack)) == posted  # queued once: no second status message
    assert app_errors() == []
