"""Interactivity payloads Slack never sent the way they arrive: a confirmation naming a run it was not
opened for, someone else's confirmation, a run already confirmed or dropped, an altered private_metadata,
a form the app never opened for its user, the same submission twice, malformed bodies. Each gets a clear,
specific answer, changes nothing, and leaves no error or traceback in the logs."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from kits.hostile import LoggedErrors, post_signed, store_counts
from kits.slack_bot import ADMIN, CHANNEL, OUTSIDE, OWNER, Bot, status_posts, synchronize

from bot import messages
from bot.handlers.views import FORM_UNREADABLE
from bot.ids import COMMAND, ActionId, BlockId, CallbackId
from devtools.slack_emulator import SentRequest, SlackUser
from sync_engine.domain import RunStatus
from sync_engine.store.database import Database

UNAVAILABLE = messages.unavailable_run().text


def draft(bot: Bot, user: str = ADMIN, identifiers: str = "C-000001\nC-000002") -> dict[str, Any]:
    """The confirmation `user`'s form became for a new draft (reference identifiers), as Slack keeps it."""
    person = bot.user(user)
    bot.open_request(person)
    person.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    person.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, identifiers)
    synchronize(person)
    return bot.slack._ws.views[person.open_view()["id"]].view


def run_id_of(confirmation: dict[str, Any]) -> int:
    return int(json.loads(confirmation["private_metadata"])["run_id"])


def shows(answer: str, text: str) -> bool:
    """The submission's answer replaces the form with a view showing `text`."""
    body = json.loads(answer)
    return body["response_action"] == "update" and text in json.dumps(body["view"]["blocks"])


@pytest.fixture
def quiet(app_errors: LoggedErrors) -> LoggedErrors:
    return app_errors


#: Altered metadata of a confirmation: another run, no seal, a run id that is not a number.
FORGED_RUNS: dict[str, Callable[[str, int], str]] = {
    "other-run": lambda genuine, other: genuine.replace(
        f'"run_id": {run_id_of({"private_metadata": genuine})}', f'"run_id": {other}'
    ),
    "seal-dropped": lambda genuine, _: json.dumps(
        {k: v for k, v in json.loads(genuine).items() if k != "seal"}
    ),
    "run-id-text": lambda genuine, _: genuine.replace('"run_id": ', '"run_id": "').replace(
        ', "seal"', '", "seal"'
    ),
    "unsealed-other-run": lambda _, other: json.dumps({"channel_id": CHANNEL, "run_id": other}),
}


@pytest.mark.parametrize("change", FORGED_RUNS)
def test_a_confirmation_naming_another_run_is_refused_and_changes_nothing(
    hostile_bot: Bot, hostile_database: Database, quiet: LoggedErrors, change: str
) -> None:
    bot = hostile_bot
    other = run_id_of(draft(bot, identifiers="C-000011"))
    shown = draft(bot)
    run_id = run_id_of(shown)
    shown["private_metadata"] = FORGED_RUNS[change](shown["private_metadata"], other)
    before = store_counts(hostile_database)

    response = bot.user(ADMIN).submit()  # Confirm

    assert response.status == 200 and shows(response.body, FORM_UNREADABLE)
    assert store_counts(hostile_database) == before
    assert {bot.service.get(n).status for n in (run_id, other)} == {RunStatus.DRAFT}
    assert quiet() == []


def test_another_admins_confirmation_cannot_be_confirmed(hostile_bot: Bot, quiet: LoggedErrors) -> None:
    bot = hostile_bot
    anas = draft(bot, ADMIN)
    view = {**anas, "id": bot.user(ADMIN).open_view()["id"]}

    status, answer = post_signed(bot.user(OWNER), _submission(bot, OWNER, view))

    assert status == 200 and shows(answer, FORM_UNREADABLE)
    assert bot.service.get(run_id_of(anas)).status is RunStatus.DRAFT
    assert quiet() == []


def test_a_confirmed_run_is_not_queued_again(hostile_bot: Bot, quiet: LoggedErrors) -> None:
    bot = hostile_bot
    ana = bot.user(ADMIN)
    run_id = run_id_of(draft(bot, ADMIN, "C-000003"))
    assert ana.submit().error is None  # Confirm
    sent = ana.last_sent
    assert sent is not None
    bot.wait_run(run_id)
    bot.wait_for(lambda: "Status message" in json.dumps(ana.open_view()["blocks"]))
    posted = len(status_posts(bot.slack))

    status, answer = signed_again(ana, sent)

    assert status == 200 and shows(answer, f"Run #{run_id} is queued")
    assert bot.service.get(run_id).status is RunStatus.COMPLETED
    assert [run.id for run in bot.service.history(limit=100)].count(run_id) == 1
    assert len(status_posts(bot.slack)) == posted  # no second status message
    assert quiet() == []


def test_a_dropped_draft_cannot_be_confirmed(hostile_bot: Bot, quiet: LoggedErrors) -> None:
    bot = hostile_bot
    ana = bot.user(ADMIN)
    confirmation = copy.deepcopy(draft(bot, ADMIN, "C-000004"))
    view = {**confirmation, "id": ana.open_view()["id"]}
    run_id = run_id_of(confirmation)
    ana.click(ActionId.BACK)  # drops the draft, the form is back
    bot.wait_for(lambda: bot.service.get(run_id).status is RunStatus.CANCELLED)

    status, answer = post_signed(ana, _submission(bot, ADMIN, view))

    assert status == 200 and shows(answer, UNAVAILABLE)
    assert bot.service.get(run_id).status is RunStatus.CANCELLED
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
    run_id = synchronize(ana)
    sent = ana.last_sent
    assert sent is not None
    before = store_counts(hostile_database)

    status, answer = signed_again(ana, sent)

    assert status == 200 and shows(answer, "This re-imports and overwrites 2 customers")
    assert json.loads(json.loads(answer)["view"]["private_metadata"])["run_id"] == run_id  # the same draft
    assert store_counts(hostile_database) == before
    assert ana.submit().error is None  # Confirm
    bot.wait_run(run_id)

    # Once confirmed: the answer is the run as it stands, not a new draft.
    status, answer = signed_again(ana, sent, later=2)

    assert status == 200 and shows(answer, f"Run #{run_id} is queued")
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


@pytest.mark.parametrize("action", [ActionId.BACK, ActionId.HISTORY_MORE])
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
