"""Admins only, at every entry point; and only requests Slack signed, recently, reach the app."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

from kits.slack_bot import ADMIN, ALLOWED, CHANNEL, OWNER, PLAIN, Bot, running_bot

from bot import messages
from bot.ids import COMMAND, ActionId, BlockId
from devtools.slack_emulator import SlackEmulator
from sync_engine.domain import IdentifierType
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData

REFUSAL = messages.refusal().text


def refusals(bot: Bot, user: str) -> list[dict[str, object]]:
    return [e for e in bot.slack.ephemeral(user) if e["text"] == REFUSAL]


def test_non_admins_are_refused_at_every_entry_point_and_nothing_changes(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> None:
    with running_bot(sqlite_database, slack, sandbox_data, None, admin_cache_seconds=0) as bot:
        runs = [
            bot.service.submit(IdentifierType.REFERENCE, ["C-404404"], requested_by="cli:ops")
            for _ in range(11)
        ]
        for run in runs:  # all of them ended: the history compared below changes no more
            bot.wait_run(run.id)

        # Bob is an admin for a while: he gets a history page and an open modal…
        slack.add_user(PLAIN, name="bob", is_admin=True)
        bob = bot.user(PLAIN)
        bob.slash_command(COMMAND, text="history", channel=CHANNEL)
        [page] = bot.wait_for(lambda: [e for e in slack.ephemeral(PLAIN) if "Show more" in json.dumps(e)])
        view = bot.open_request(bob)
        bob.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "0" * 32)
        # The counter is updated after the keystroke's ack.
        bot.wait_for(lambda: "*1 customer selected*" in json.dumps(bob.open_view()["blocks"]))

        # …then he is not any more. Each entry point refuses him and changes nothing.
        slack.add_user(PLAIN, name="bob")
        calls_before = {m: len(slack.calls_to(m)) for m in ("views.open", "views.update", "chat.postMessage")}
        history_before = bot.service.history(limit=100)

        for text in ("", "history", "help"):  # the command
            assert bob.slash_command(COMMAND, text=text, channel=CHANNEL).status == 200
        bob.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "0" * 32 + "\n" + "1" * 32)  # the counter
        bob.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "0" * 32 + "\n" + "2" * 32)  # (refused once)
        submitted = bob.submit()  # the submission
        bob.click(ActionId.HISTORY_MORE, message=page)  # paging

        assert submitted.json == {"response_action": "errors", "errors": {BlockId.IDENTIFIERS: REFUSAL}}
        assert len(bot.wait_for(lambda: len(refusals(bot, PLAIN)) >= 5 and refusals(bot, PLAIN))) == 5
        time.sleep(0.3)
        assert len(refusals(bot, PLAIN)) == 5
        assert {m: len(slack.calls_to(m)) for m in calls_before} == calls_before
        assert bot.service.history(limit=100) == history_before
        assert bob.open_view()["id"] == view["id"]
        assert "*1 customer selected*" in json.dumps(bob.open_view()["blocks"])
        assert not [e for e in slack.ephemeral(PLAIN) if "runs 11–" in json.dumps(e)]  # no second page


def test_owners_and_allowlisted_users_may_use_it(bot: Bot) -> None:
    for user in (OWNER, ALLOWED):
        bot.open_request(bot.user(user))
    assert [call.params["user"] for call in bot.slack.calls_to("users.info")] == [OWNER]  # no call: allowlist
    assert len(bot.slack.calls_to("views.open")) == 2


def test_admin_answers_are_cached_briefly(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    for text in ("help", "history", ""):
        assert ana.slash_command(COMMAND, text=text, channel=CHANNEL).error is None
    ana.open_view()
    bot.wait_for(lambda: len(bot.slack.ephemeral(ADMIN)) == 2)
    assert len(bot.slack.calls_to("users.info")) == 1


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_only_fresh_requests_signed_by_slack_get_in(bot: Bot) -> None:
    body = urlencode(
        {"command": COMMAND, "text": "help", "user_id": ADMIN, "channel_id": CHANNEL, "team_id": "T0EMULATOR"}
    ).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    sign = bot.user(ADMIN).sign
    url = bot.server.url

    assert _post(url, body, form) == 401  # unsigned
    forged = {**sign(body), "X-Slack-Signature": "v0=" + "0" * 64}
    assert _post(url, body, {**form, **forged}) == 401
    assert _post(url, body, {**form, **sign(body, timestamp=int(time.time()) - 600)}) == 401  # stale
    assert _post(url, body + b"&text=history", {**form, **sign(body)}) == 401  # altered after signing
    assert bot.slack.calls_to("users.info") == []  # none of them reached a listener

    assert _post(url, body, {**form, **sign(body)}) == 200
    assert _post(url.replace("/slack/events", "/elsewhere"), body, {**form, **sign(body)}) == 404
    health = url.replace("/slack/events", "/healthz")
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(health, timeout=5) as response:
        assert (response.status, json.loads(response.read())) == (200, {"ok": True})
