"""Interactivity payloads Slack never sent the way they arrive: forged button values, someone else's run,
a run already confirmed or cancelled, an altered private_metadata, a form the app never opened for its
user, the same submission twice, malformed bodies. Each gets a clear, specific answer, changes nothing,
and leaves no error or traceback in the logs."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from kits.hostile import LoggedErrors, post_signed, store_counts
from kits.slack_bot import ADMIN, CHANNEL, OUTSIDE, OWNER, Bot

from bot import messages
from bot.handlers.views import FORM_UNREADABLE
from bot.ids import COMMAND, ActionId, BlockId, CallbackId
from devtools.slack_emulator import SentRequest, SlackUser
from sync_engine.domain import RunStatus
from sync_engine.store.database import Database

UNAVAILABLE = messages.unavailable_run().text


def draft(bot: Bot, user: str = ADMIN, identifiers: str = "C-000001\nC-000002") -> dict[str, Any]:
    """The confirmation `user` gets for a new draft (reference identifiers)."""
    person = bot.user(user)
    before = len(_private(bot, user))
    bot.open_request(person)
    person.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    person.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, identifiers)
    assert person.submit().error is None
    return bot.wait_for(lambda: len(_private(bot, user)) > before and _private(bot, user)[-1])


def _private(bot: Bot, user: str) -> list[dict[str, Any]]:
    return [e for e in bot.slack.ephemeral(user) if e["text"].startswith("This re-imports")]


def run_id_of(confirmation: dict[str, Any]) -> int:
    return int(confirmation["blocks"][1]["elements"][0]["value"])


def confirmations(bot: Bot, run_id: int, user: str = ADMIN) -> list[dict[str, Any]]:
    return [m for m in _private(bot, user) if run_id_of(m) == run_id]


def plant(bot: Bot, user: str, blocks: list[dict[str, Any]], value: str | None = None) -> dict[str, Any]:
    """Show `user` a message with these blocks (button values replaced by `value`), as a forger would."""
    blocks = copy.deepcopy(blocks)
    for block in blocks:
        for element in block.get("elements", []):
            if value is not None and element.get("type") == "button":
                element["value"] = value
    ws = bot.slack._ws
    planted = ws.post_ephemeral(ws.channels[CHANNEL], user, text="forged", blocks=blocks, thread_ts=None)
    return {"channel": CHANNEL, "ts": planted.ts, "is_ephemeral": True}


def answers(bot: Bot, user: str, text: str) -> list[dict[str, Any]]:
    return [e for e in bot.slack.ephemeral(user) if e["text"] == text]


@pytest.fixture
def quiet(app_errors: LoggedErrors) -> LoggedErrors:
    return app_errors


@pytest.mark.parametrize("value", ["999999", "abc", "", "-1", "9" * 40, "1e3", "0x1", "2147483648"])
@pytest.mark.parametrize("action", [ActionId.CONFIRM, ActionId.CANCEL])
def test_a_forged_run_id_is_answered_and_changes_nothing(
    hostile_bot: Bot, hostile_database: Database, quiet: LoggedErrors, value: str, action: ActionId
) -> None:
    bot = hostile_bot
    confirmation = draft(bot)
    before = store_counts(hostile_database)
    shown = len(answers(bot, ADMIN, UNAVAILABLE))

    response = bot.user(ADMIN).click(action, message=plant(bot, ADMIN, confirmation["blocks"], value))

    assert response.status == 200
    bot.wait_for(lambda: len(answers(bot, ADMIN, UNAVAILABLE)) > shown)
    assert store_counts(hostile_database) == before
    assert bot.service.get(run_id_of(confirmation)).status is RunStatus.DRAFT
    assert quiet() == []


#: How `int()` would also read a run id: other digits, signs, spaces, leading zeros.
LOOSE_RUN_IDS = {
    "fullwidth": lambda run_id: "".join(chr(0xFF10 + int(digit)) for digit in str(run_id)),
    "arabic-indic": lambda run_id: "".join(chr(0x0660 + int(digit)) for digit in str(run_id)),
    "leading-space": lambda run_id: f" {run_id}",
    "trailing-newline": lambda run_id: f"{run_id}\n",
    "plus-sign": lambda run_id: f"+{run_id}",
    "leading-zero": lambda run_id: f"0{run_id}",
}


@pytest.mark.parametrize("form", LOOSE_RUN_IDS)
def test_a_run_id_not_written_in_ascii_digits_is_refused(
    hostile_bot: Bot, hostile_database: Database, quiet: LoggedErrors, form: str
) -> None:
    bot = hostile_bot
    confirmation = draft(bot)
    run_id = run_id_of(confirmation)
    before = store_counts(hostile_database)
    shown = len(answers(bot, ADMIN, UNAVAILABLE))
    value = LOOSE_RUN_IDS[form](run_id)

    response = bot.user(ADMIN).click(
        ActionId.CONFIRM, message=plant(bot, ADMIN, confirmation["blocks"], value)
    )

    assert response.status == 200
    bot.wait_for(lambda: len(answers(bot, ADMIN, UNAVAILABLE)) > shown)
    assert store_counts(hostile_database) == before
    assert bot.service.get(run_id).status is RunStatus.DRAFT
    assert quiet() == []


@pytest.mark.parametrize("action", [ActionId.CONFIRM, ActionId.CANCEL])
def test_another_admins_draft_cannot_be_confirmed_or_cancelled(
    hostile_bot: Bot, quiet: LoggedErrors, action: ActionId
) -> None:
    bot = hostile_bot
    confirmation = draft(bot, ADMIN)
    run_id = run_id_of(confirmation)
    history = bot.service.history(limit=100)

    response = bot.user(OWNER).click(action, message=plant(bot, OWNER, confirmation["blocks"]))

    expected = messages.not_your_run(bot.service.get(run_id)).text
    assert response.status == 200
    bot.wait_for(lambda: answers(bot, OWNER, expected))
    assert expected.startswith(f":lock: Run #{run_id} was requested by <@{ADMIN}>: only they can confirm")
    assert bot.service.get(run_id).status is RunStatus.DRAFT
    assert bot.service.history(limit=100) == history
    assert quiet() == []


def test_a_confirmed_run_is_neither_queued_twice_nor_cancelled(hostile_bot: Bot, quiet: LoggedErrors) -> None:
    bot = hostile_bot
    confirmation = draft(bot, ADMIN, "C-000003")
    run_id = run_id_of(confirmation)
    ana = bot.user(ADMIN)
    ana.click(ActionId.CONFIRM, message=confirmation)
    bot.wait_run(run_id)
    queued = messages.queued_note(bot.service.get(run_id)).text
    bot.wait_for(lambda: answers(bot, ADMIN, queued))
    posted = len(bot.slack.calls_to("chat.postMessage"))

    for action in (ActionId.CONFIRM, ActionId.CANCEL):
        ana.click(action, message=plant(bot, ADMIN, confirmation["blocks"]))

    bot.wait_for(lambda: len(answers(bot, ADMIN, queued)) == 3)
    assert bot.service.get(run_id).status is RunStatus.COMPLETED
    assert [run.id for run in bot.service.history(limit=100)].count(run_id) == 1
    assert len(bot.slack.calls_to("chat.postMessage")) == posted  # no second status message
    assert quiet() == []


def test_a_cancelled_draft_cannot_be_confirmed(hostile_bot: Bot, quiet: LoggedErrors) -> None:
    bot = hostile_bot
    confirmation = draft(bot, ADMIN, "C-000004")
    run_id = run_id_of(confirmation)
    ana = bot.user(ADMIN)
    ana.click(ActionId.CANCEL, message=confirmation)
    cancelled = messages.cancelled_note(bot.service.get(run_id)).text
    bot.wait_for(lambda: answers(bot, ADMIN, cancelled))

    ana.click(ActionId.CONFIRM, message=plant(bot, ADMIN, confirmation["blocks"]))

    bot.wait_for(lambda: len(answers(bot, ADMIN, cancelled)) == 2)
    assert bot.service.get(run_id).status is RunStatus.CANCELLED
    assert run_id not in [run.id for run in bot.service.history(limit=100)]
    assert quiet() == []


def counted(bot: Bot, user: SlackUser, count: int = 1) -> None:
    shown = f"*{count} customer{'s' if count > 1 else ''} selected*"
    bot.wait_for(lambda: shown in json.dumps(user.open_view()["blocks"]))


#: Altered private_metadata: replacements, and changes of the genuine one (given).
TAMPERED: dict[str, Callable[[str], str]] = {
    "other-channel": lambda genuine: genuine.replace(CHANNEL, OUTSIDE),
    "field-added": lambda genuine: genuine[:-1] + ', "channel": "C_OUTSIDE"}',
    "seal-dropped": lambda genuine: json.dumps({k: v for k, v in json.loads(genuine).items() if k != "seal"}),
    "prefixed": lambda genuine: "x" + genuine,
    "plain-other-channel": lambda _: json.dumps({"channel_id": OUTSIDE}),
    "not-json": lambda _: "not json",
    "empty": lambda _: "",
    "null": lambda _: "null",
    "list": lambda _: "[]",
    "empty-object": lambda _: "{}",
    "number-channel": lambda _: '{"channel_id": 5}',
    "markup-channel": lambda _: '{"channel_id": "<!channel>"}',
    "newline-channel": lambda _: '{"channel_id": "C_FIN\\n<!here>"}',
    "long-channel": lambda _: json.dumps({"channel_id": "C" * 3000}),
    "lone-surrogate": lambda genuine: "\ud800" + genuine,
}


def fill_in(bot: Bot, user: SlackUser, identifiers: str, channel: str = CHANNEL) -> dict[str, Any]:
    """Open the form for `user`, enter reference identifiers; the form as Slack would submit it."""
    view = bot.open_request(user, channel)
    user.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    user.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, identifiers)
    # The counter's update is in: it would restore the genuine metadata.
    counted(bot, user, len(identifiers.split()))
    return bot.slack._ws.views[view["id"]].view


@pytest.mark.parametrize("change", TAMPERED)
def test_an_altered_private_metadata_is_refused_and_stores_nothing(
    hostile_bot: Bot, hostile_database: Database, quiet: LoggedErrors, change: str
) -> None:
    bot = hostile_bot
    ana = bot.user(ADMIN)
    shown = fill_in(bot, ana, "C-000005")
    assert CHANNEL in shown["private_metadata"]
    shown["private_metadata"] = TAMPERED[change](shown["private_metadata"])
    before = store_counts(hostile_database)

    response = ana.submit()

    assert response.json == {"response_action": "errors", "errors": {BlockId.IDENTIFIERS: FORM_UNREADABLE}}
    assert store_counts(hostile_database) == before
    assert quiet() == []


@pytest.mark.parametrize("whose", ["never-opened", "another-admins"])
def test_a_submission_for_a_view_not_opened_for_its_user_is_refused(
    hostile_bot: Bot, hostile_database: Database, quiet: LoggedErrors, whose: str
) -> None:
    # Ana's own form, genuine metadata and all, under the id of a view the app never opened, or of one it
    # opened for Olga.
    bot = hostile_bot
    ana = bot.user(ADMIN)
    fill_in(bot, ana, "C-000007")
    view = ana.open_view()
    view["id"] = "V0NEVER0PEN" if whose == "never-opened" else bot.open_request(bot.user(OWNER))["id"]
    before = store_counts(hostile_database)

    status, body = post_signed(ana, _submission(bot, ADMIN, view))

    assert status == 200
    assert json.loads(body) == {"response_action": "errors", "errors": {BlockId.IDENTIFIERS: FORM_UNREADABLE}}
    assert store_counts(hostile_database) == before
    assert quiet() == []


def test_the_metadata_of_another_users_form_is_refused(
    hostile_bot: Bot, hostile_database: Database, quiet: LoggedErrors
) -> None:
    bot = hostile_bot
    ana, olga = bot.user(ADMIN), bot.user(OWNER)
    olgas = bot.open_request(olga, OUTSIDE)["private_metadata"]
    fill_in(bot, ana, "C-000008")["private_metadata"] = olgas
    before = store_counts(hostile_database)

    response = ana.submit()

    assert response.json == {"response_action": "errors", "errors": {BlockId.IDENTIFIERS: FORM_UNREADABLE}}
    assert store_counts(hostile_database) == before
    assert quiet() == []


def test_the_same_submission_again_returns_its_draft_and_stores_nothing(
    hostile_bot: Bot, hostile_database: Database, quiet: LoggedErrors
) -> None:
    # What the replay guard cannot catch (it forgot the signature, or the copy is signed anew): the
    # submission itself finds the draft it stored.
    bot = hostile_bot
    ana = bot.user(ADMIN)
    fill_in(bot, ana, "C-000009\nC-000010")
    shown = len(_private(bot, ADMIN))
    assert ana.submit().error is None
    sent = ana.last_sent
    assert sent is not None
    confirmation = bot.wait_for(lambda: _private(bot, ADMIN)[shown:] and _private(bot, ADMIN)[-1])
    run_id = run_id_of(confirmation)
    before = store_counts(hostile_database)

    assert signed_again(ana, sent) == (200, "")

    [first, second] = bot.wait_for(lambda: (shown := confirmations(bot, run_id))[1:] and shown)
    assert second["text"] == first["text"]  # the same draft (same run id), the same confirmation
    assert store_counts(hostile_database) == before
    ana.click(ActionId.CONFIRM, message=confirmation)
    queued = messages.queued_note(bot.wait_run(run_id)).text
    bot.wait_for(lambda: answers(bot, ADMIN, queued))

    # Once confirmed: the answer is the run as it stands, not a new draft.
    assert signed_again(ana, sent, later=2) == (200, "")

    bot.wait_for(lambda: len(answers(bot, ADMIN, queued)) == 2)
    assert store_counts(hostile_database) == before
    assert [run.id for run in bot.service.history(limit=100)].count(run_id) == 1
    assert quiet() == []


def _submission(bot: Bot, user: str, view: dict[str, Any]) -> dict[str, Any]:
    ws = bot.slack._ws
    return {
        "type": "view_submission",
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "user": {"id": user, "username": user, "team_id": ws.team_id},
        "api_app_id": ws.app_id,
        "view": view,
    }


def signed_again(user: SlackUser, sent: SentRequest, later: int = 1) -> tuple[int, str]:
    """Send a request Slack sent once more, the same bytes signed anew `later` seconds on (a signature
    no replay guard has seen)."""
    stamp = int(sent.headers["X-Slack-Request-Timestamp"]) + later
    answer = user.resend(SentRequest(sent.body, {**sent.headers, **user.sign(sent.body, timestamp=stamp)}))
    return answer.status, answer.body


def test_a_channel_the_app_cannot_post_in_falls_back_to_a_direct_message(
    hostile_bot: Bot, quiet: LoggedErrors
) -> None:
    # The command run in a channel the app was never invited to: the form is genuine, its channel too.
    bot = hostile_bot
    ana = bot.user(ADMIN)
    fill_in(bot, ana, "C-000006", channel=OUTSIDE)
    dm = bot.slack._ws.dm(ADMIN).id

    assert ana.submit().json is None

    [confirmation] = bot.wait_for(
        lambda: [m for m in bot.slack.messages(dm) if m["text"].startswith("This re-imports")]
    )
    assert "C-000006" not in json.dumps(confirmation)
    assert quiet() == []


def _block_actions(bot: Bot, user: str | None, action_id: str, value: str) -> dict[str, Any]:
    ws = bot.slack._ws
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "api_app_id": ws.app_id,
        "container": {"type": "message", "channel_id": CHANNEL, "is_ephemeral": True},
        "channel": {"id": CHANNEL, "name": "finance"},
        "actions": [{"action_id": action_id, "block_id": "x", "type": "button", "value": value}],
    }
    if user is not None:
        payload["user"] = {"id": user, "username": user, "team_id": ws.team_id}
    return payload


MALFORMED: list[tuple[str, Any]] = [
    ("payload-not-json", b"payload=not-json"),
    ("payload-empty-object", {}),
    ("unknown-type", {"type": "nonsense"}),
    ("block-actions-without-actions", {"type": "block_actions", "user": {"id": ADMIN}}),
    ("view-submission-without-view", {"type": "view_submission", "user": {"id": ADMIN}}),
    (
        "unknown-callback",
        {"type": "view_submission", "user": {"id": ADMIN}, "view": {"callback_id": "other", "state": {}}},
    ),
    (
        "keystroke-without-view",
        {
            "type": "block_actions",
            "user": {"id": ADMIN},
            "actions": [
                {
                    "type": "plain_text_input",
                    "action_id": ActionId.IDENTIFIERS,
                    "value": "x",
                    "action_ts": "x",
                }
            ],
        },
    ),
    (
        "submission-without-state",
        {
            "type": "view_submission",
            "user": {"id": ADMIN},
            "view": {
                "type": "modal",
                "id": "V0",
                "callback_id": CallbackId.REQUEST_MODAL,
                "private_metadata": "{}",
            },
        },
    ),
    ("command-without-user", urlencode({"command": COMMAND, "text": "history"}).encode()),
    ("command-unknown", urlencode({"command": "/other", "user_id": ADMIN}).encode()),
]


@pytest.mark.parametrize(("name", "body"), MALFORMED, ids=[name for name, _ in MALFORMED])
def test_malformed_signed_bodies_get_no_server_error_and_change_nothing(
    hostile_bot: Bot, hostile_database: Database, quiet: LoggedErrors, name: str, body: Any
) -> None:
    before = store_counts(hostile_database)
    user = hostile_bot.user(ADMIN)

    status, _ = post_signed(user, form=body) if isinstance(body, bytes) else post_signed(user, body)

    assert status in (200, 400, 404), status
    assert store_counts(hostile_database) == before
    assert quiet() == []


@pytest.mark.parametrize("action", [ActionId.CONFIRM, ActionId.CANCEL, ActionId.HISTORY_MORE])
def test_a_click_without_a_user_is_refused_before_any_listener(
    hostile_bot: Bot, hostile_database: Database, quiet: LoggedErrors, action: ActionId
) -> None:
    confirmation = draft(hostile_bot)
    before = store_counts(hostile_database)

    status, _ = post_signed(
        hostile_bot.user(ADMIN), _block_actions(hostile_bot, None, action, str(run_id_of(confirmation)))
    )

    assert status == 400
    assert store_counts(hostile_database) == before
    assert hostile_bot.service.get(run_id_of(confirmation)).status is RunStatus.DRAFT
    assert quiet() == []
