"""The confirmation inside the form, over HTTP: Synchronize turns the form into the confirmation
(`response_action: update`), Back returns to the filled form, Confirm turns it into "Run #N is queued"
with links to the Home tab and the status message; a double Confirm makes one run; closing makes none."""

from __future__ import annotations

import json
from typing import Any

from kits.slack_bot import ADMIN, CHANNEL, PLAIN, Bot, records_files, running_bot, synchronize

from bot import messages
from bot.ids import ActionId, BlockId, CallbackId
from devtools.slack_emulator import SlackEmulator, SlackUser
from sync_engine.domain import RunStatus
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData

WARNING = (
    "This re-imports and overwrites {n} customers and all their invoices, payments and credit notes. "
    "This cannot be undone."
)


def fill(bot: Bot, user: SlackUser, identifiers: list[str], kind: str = "reference") -> dict[str, Any]:
    view = bot.open_request(user)
    user.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, kind)
    user.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(identifiers))
    return view


def text_of(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


def test_synchronize_turns_the_form_into_the_confirmation_and_confirm_queues_the_run(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    references = [f"C-{n:06}" for n in range(1, 13)]
    form = fill(bot, ana, references)

    draft_id = synchronize(ana)

    confirmation = ana.open_view()
    assert confirmation["id"] == form["id"]  # the same form, now the confirmation
    assert confirmation["submit"]["text"] == "Confirm" and confirmation["close"]["text"] == "Cancel"
    shown = text_of(confirmation)
    assert f"*{WARNING.format(n=12)}*" in shown
    assert "Reference (customer number)" in shown
    assert all(f"`{ref}`" in shown for ref in references[:10]) and "`C-000011`" not in shown
    assert "and 2 more" in shown
    assert bot.service.get(draft_id).status is RunStatus.DRAFT and bot.service.history() == []

    assert ana.submit().error is None  # Confirm

    queued = ana.open_view()
    assert queued["id"] == form["id"] and queued["submit"] is None
    [run] = bot.service.history()
    assert run.id == draft_id
    assert f"Run #{run.id} is queued" in text_of(queued)
    home = f"slack://app?team={bot.slack.team_id}&id={bot.slack.app_id}&tab=home"
    assert home in text_of(queued)
    # Once the status message is posted, the form links to it.
    linked = bot.wait_for(lambda: "Status message" in text_of(view := ana.open_view()) and view)
    [status] = bot.status_messages()
    permalink = bot.slack.calls_to("chat.getPermalink")[0].response["permalink"]
    assert status["ts"].replace(".", "") in permalink and permalink in text_of(linked)
    # No ephemeral message carries the step: it is in the form.
    assert bot.slack.calls_to("chat.postEphemeral") == [] and bot.slack.ephemeral(ADMIN) == []
    assert bot.wait_run(run.id).status is RunStatus.COMPLETED


def test_back_returns_to_the_filled_form_and_drops_the_draft(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    wids = [f"{n:032x}" for n in range(100)]  # 3,299 characters: both boxes
    fill(bot, ana, wids[:90], kind="source_id")
    ana.type(BlockId.MORE_IDENTIFIERS, ActionId.MORE_IDENTIFIERS, "\n".join(wids[90:]))
    first_draft = synchronize(ana)

    assert ana.click(ActionId.BACK).error is None

    form = bot.wait_for(lambda: (view := ana.open_view())["callback_id"] == CallbackId.REQUEST_MODAL and view)
    values = form["state"]["values"]
    assert values[BlockId.ID_TYPE][ActionId.ID_TYPE]["selected_option"]["value"] == "source_id"
    boxes = [
        values[BlockId.IDENTIFIERS][ActionId.IDENTIFIERS]["value"],
        values[BlockId.MORE_IDENTIFIERS][ActionId.MORE_IDENTIFIERS]["value"],
    ]
    assert "\n".join(boxes).split("\n") == wids
    assert "*100 customers selected*" in text_of(form)
    assert bot.service.get(first_draft).status is RunStatus.CANCELLED

    # The admin changes the list and synchronizes again: a new draft, and only it is queued.
    ana.type(BlockId.MORE_IDENTIFIERS, ActionId.MORE_IDENTIFIERS, "")
    second_draft = synchronize(ana)
    assert second_draft != first_draft
    assert WARNING.format(n=len(boxes[0].split("\n"))) in text_of(ana.open_view())
    assert ana.submit().error is None
    assert [run.id for run in bot.service.history()] == [second_draft]
    bot.wait_for(lambda: "Status message" in text_of(ana.open_view()))


def test_a_double_confirm_makes_one_run(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    fill(bot, ana, ["C-000002", "C-000003", "C-000004"])
    draft_id = synchronize(ana)

    answers = ana.submit_twice()

    assert [answer.error for answer in answers] == [None, None]
    assert [run.id for run in bot.service.history()] == [draft_id]
    assert f"Run #{draft_id} is queued" in text_of(ana.open_view())
    assert bot.wait_run(draft_id).status is RunStatus.COMPLETED
    bot.wait_for(lambda: "Completed" in json.dumps(bot.status_messages()) and records_files(bot.slack))
    assert len(bot.status_messages()) == 1 and len(records_files(bot.slack)) == 1
    bot.wait_for(lambda: "Status message" in text_of(ana.open_view()))


def test_closing_the_confirmation_leaves_no_run(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    fill(bot, ana, ["C-000005"])
    draft_id = synchronize(ana)

    ana.close()  # Cancel

    assert bot.service.history() == [] and bot.status_messages() == []
    assert bot.service.get(draft_id).status is RunStatus.DRAFT  # never queued, never history
    assert bot.slack.calls_to("chat.postMessage") == []


def test_a_demoted_admin_can_neither_confirm_nor_go_back(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> None:
    with running_bot(sqlite_database, slack, sandbox_data, None, admin_cache_seconds=0) as bot:
        slack.add_user(PLAIN, name="bob", is_admin=True)
        bob = bot.user(PLAIN)
        fill(bot, bob, ["C-000006"])
        draft_id = synchronize(bob)
        slack.add_user(PLAIN, name="bob")  # no longer an admin

        bob.click(ActionId.BACK)
        refused = bot.wait_for(lambda: bot.slack.ephemeral(PLAIN))
        assert [e["text"] for e in refused] == [messages.refusal().text]
        assert bob.open_view()["callback_id"] == CallbackId.CONFIRM_MODAL  # the form stays as it was

        assert bob.submit().error is None  # Confirm
        assert messages.refusal().text.split(" Nothing")[0] in text_of(bob.open_view())
        assert bot.service.get(draft_id).status is RunStatus.DRAFT
        assert bot.service.history() == [] and bot.slack.messages(CHANNEL) == []
