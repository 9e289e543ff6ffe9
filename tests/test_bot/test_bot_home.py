"""The Home tab is the window, over HTTP: app_home_opened → views.publish (header, badge, tab buttons),
tab switches, History paged within Slack's 100 blocks, a long error in a modal, Synchronize from Home
through the form to History, a non-admin's note, and the Events API's url_verification."""

from __future__ import annotations

import json
import re
from typing import Any

from kits.slack_bot import ADMIN, CHANNEL, PLAIN, Bot, records_files, running_bot, synchronize

from bot.connection_blocks import CHECKING
from bot.home_blocks import HISTORY_PAGE
from bot.ids import ActionId, BlockId, CallbackId
from devtools.slack_emulator import SlackEmulator
from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData


def home_of(bot: Bot, user: str, *, showing: str) -> dict[str, Any]:
    """The user's Home view once it shows `showing` (and its connection check is done)."""

    def shown() -> dict[str, Any] | None:
        view = bot.slack.home(user)
        text = text_of(view["blocks"]) if view else ""
        return view if view and showing in text and CHECKING not in text else None

    return bot.wait_for(shown)


def text_of(blocks: Any) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def buttons(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for block in view["blocks"]:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                found[element["action_id"]] = element
    return found


def test_an_admin_opening_the_home_tab_gets_the_window(bot: Bot) -> None:
    ana = bot.user(ADMIN)

    opened = ana.open_home()

    assert opened.status == 200 and opened.error is None  # acknowledged at once; published after
    view = home_of(bot, ADMIN, showing="Synchronize customers")
    assert view["type"] == "home"
    assert view["blocks"][0] == {
        "type": "header",
        "block_id": view["blocks"][0]["block_id"],
        "text": {"type": "plain_text", "text": "Batch synchronization | Workday"},
    }
    assert ":large_green_circle: *Connected* to Workday" in text_of(view["blocks"][1])
    tabs = buttons(view)
    assert tabs[ActionId.HOME_TAB_SYNCHRONIZE]["style"] == "primary"  # the tab shown
    assert "style" not in tabs[ActionId.HOME_TAB_HISTORY]
    assert tabs[ActionId.HOME_SYNCHRONIZE]["text"]["text"] == "Synchronize customers"
    assert tabs[ActionId.HOME_SYNCHRONIZE]["style"] == "primary"
    assert all(call.ok for call in bot.slack.calls_to("views.publish"))


def test_the_tab_buttons_publish_the_other_tab(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    ana.open_home()
    home_of(bot, ADMIN, showing="Synchronize customers")

    ana.click_home(ActionId.HOME_TAB_HISTORY)
    history = home_of(bot, ADMIN, showing="No batch runs yet.")
    assert buttons(history)[ActionId.HOME_TAB_HISTORY]["style"] == "primary"
    assert ActionId.HOME_SYNCHRONIZE not in buttons(history)

    # Opening the tab again keeps it on History (its state comes back with the event).
    ana.open_home()
    bot.wait_for(lambda: len(bot.slack.calls_to("views.publish")) >= 3)
    assert "No batch runs yet." in text_of(home_of(bot, ADMIN, showing="History")["blocks"])

    ana.click_home(ActionId.HOME_TAB_SYNCHRONIZE)
    home_of(bot, ADMIN, showing="Synchronize customers")


def test_synchronize_from_home_opens_the_form_and_confirm_switches_to_history(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    ana.open_home()
    home_of(bot, ADMIN, showing="Synchronize customers")

    assert ana.click_home(ActionId.HOME_SYNCHRONIZE).error is None

    form = bot.wait_for(lambda: ana.open_view())
    assert form["callback_id"] == CallbackId.REQUEST_MODAL
    [opened] = bot.slack.calls_to("views.open")
    assert opened.ok  # through the click's trigger_id
    # Opened from Home, the form asks where the status goes.
    ana.select_conversation(BlockId.STATUS_CHANNEL, ActionId.STATUS_CHANNEL, CHANNEL)
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "C-000001\nC-000002")
    run_id = synchronize(ana)
    assert f"<#{CHANNEL}>" in text_of(ana.open_view()["blocks"])
    assert ana.submit().error is None  # Confirm

    history = home_of(bot, ADMIN, showing=f"*Run #{run_id}*")
    assert buttons(history)[ActionId.HOME_TAB_HISTORY]["style"] == "primary"
    assert bot.wait_run(run_id).slack_channel == CHANNEL
    bot.wait_for(lambda: bot.status_messages(CHANNEL))


def test_history_lists_runs_most_recent_first_with_everything_and_pages_within_100_blocks(
    bot: Bot,
) -> None:
    ana = bot.user(ADMIN)
    bot.sandbox.knobs.unauthorized_operations = {"Get_Customer_Payments"}
    wids = [c.wid for c in bot.sandbox.data.customers[10:30]]
    failed = bot.service.submit(IdentifierType.SOURCE_ID, wids, requested_by=ADMIN)
    assert bot.wait_run(failed.id).error and len(bot.service.get(failed.id).error or "") > 500
    bot.sandbox.knobs.unauthorized_operations = set()
    runs = [
        bot.service.submit(IdentifierType.REFERENCE, ["C-404404"], requested_by="cli:ops") for _ in range(25)
    ]
    for run in runs:
        bot.wait_run(run.id)
    ana.open_home()
    home_of(bot, ADMIN, showing="Synchronize customers")

    ana.click_home(ActionId.HOME_TAB_HISTORY)

    first = home_of(bot, ADMIN, showing=f"runs 1–{HISTORY_PAGE}")
    text = text_of(first["blocks"])
    shown = [int(n) for n in re.findall(r"\*Run #(\d+)\*", text)]
    assert shown == sorted(shown, reverse=True) and shown[0] == runs[-1].id and len(shown) == HISTORY_PAGE
    assert len(first["blocks"]) <= 100
    newest = bot.service.get(runs[-1].id)
    assert re.search(r"<!date\^\d+\^\{date_short_pretty\} at \{time\}\|", text)
    assert ":x: Error" in text and "by cli:ops" in text
    assert "Customers *0* · Invoices *0* · Payments *0* · Credit notes *0*" in text
    assert (newest.error or "")[:40] in text
    assert ActionId.HOME_NEWER not in buttons(first)

    ana.click_home(ActionId.HOME_OLDER)
    second = home_of(bot, ADMIN, showing=f"runs {HISTORY_PAGE + 1}–26")
    assert f"*Run #{failed.id}*" in text_of(second["blocks"]) and f"<@{ADMIN}>" in text_of(second["blocks"])
    assert ActionId.HOME_OLDER not in buttons(second) and ActionId.HOME_NEWER in buttons(second)

    # The long error: a preview, and the whole text in a modal.
    ana.click_home(ActionId.HOME_FULL_ERROR, block_id=f"{BlockId.HOME_ERROR}_{failed.id}")
    modal = bot.wait_for(lambda: ana.open_view())
    whole = "".join(b["text"]["text"] for b in modal["blocks"][1:])
    assert whole == bot.service.get(failed.id).error
    assert all(call.ok for call in bot.slack.calls_to("views.publish"))


def confirm_one_run(bot: Bot) -> int:
    """The admin asks for one customer from the form and confirms (her Home switches to History)."""
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "C-000003")
    run_id = synchronize(ana)
    ana.submit()
    return run_id


def test_history_links_the_records_file_and_the_status_message(bot: Bot) -> None:
    run_id = confirm_one_run(bot)
    run = bot.wait_for(lambda: (r := bot.service.get(run_id)).announcement.records_link and r)

    view = home_of(bot, ADMIN, showing="|Records file>")
    text = text_of(view["blocks"])
    # The upload answers only the file's id and title: the link is the one files.info gives.
    [records] = records_files(bot.slack)
    [info] = [call for call in bot.slack.calls_to("files.info") if call.params["file"] == records["id"]]
    assert run.announcement.records_link == info.response["file"]["permalink"]
    assert f"<{run.announcement.records_link}|Records file>" in text
    assert f"<{run.announcement.link}|Status message>" in text
    assert bot.wait_run(run_id).status is RunStatus.COMPLETED


def test_without_files_read_history_links_the_records_files_thread(bot: Bot) -> None:
    bot.slack.knobs.scopes.discard("files:read")  # a workspace that kept the app's earlier scopes
    run_id = confirm_one_run(bot)
    run = bot.wait_for(lambda: (r := bot.service.get(run_id)).announcement.link and r)

    view = home_of(bot, ADMIN, showing="Records file (in the thread)")  # Confirm switched it to History
    text = text_of(view["blocks"])
    assert f"<{run.announcement.link}|Records file (in the thread)>" in text
    assert f"<{run.announcement.link}|Status message>" in text
    assert bot.wait_run(run_id).status is RunStatus.COMPLETED


def test_a_non_admin_sees_a_note_and_no_runs(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> None:
    with running_bot(sqlite_database, slack, sandbox_data, None, admin_cache_seconds=0) as bot:
        bot.service.submit(IdentifierType.REFERENCE, ["C-404404"], requested_by=ADMIN)
        bob = bot.user(PLAIN)
        for click in (ActionId.HOME_TAB_HISTORY, ActionId.HOME_SYNCHRONIZE, ActionId.HOME_TAB_SYNCHRONIZE):
            slack.add_user(PLAIN, name="bob", is_admin=True)  # an admin when he opened the tab…
            bob.open_home()
            home_of(bot, PLAIN, showing="Synchronize customers")
            slack.add_user(PLAIN, name="bob")  # …and no longer when he clicks

            bob.click_home(click)

            note = home_of(bot, PLAIN, showing="for the finance admins")
            assert buttons(note) == {} and "Run #" not in text_of(note["blocks"])
        published = len(bot.slack.calls_to("views.publish"))
        bob.open_home()
        bot.wait_for(lambda: len(bot.slack.calls_to("views.publish")) > published)

        assert bot.slack.calls_to("views.open") == []
        assert "Run #" not in text_of(slack.home(PLAIN))


def test_the_request_url_answers_url_verification_and_takes_events(bot: Bot) -> None:
    verified = bot.slack.verify_request_url(bot.server.url)

    assert verified.status == 200 and verified.error is None
    assert bot.slack.calls_to("users.info") == []  # no listener ran
    # The same URL then takes the event (its user is inside `event`, not where commands carry it).
    assert bot.user(ADMIN).open_home().status == 200
    bot.wait_for(lambda: bot.slack.home(ADMIN))
