"""A run's *Reason or ticket* through Slack, over HTTP: typed in the form, shown on the confirmation, the
status message, `/workday-resync history` (and its search) and the Home tab's History, always escaped;
required with RESYNC_REQUIRE_REASON (by the Slack client and by the app), a refusal storing nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from kits.runs import make_run
from kits.slack_bot import ADMIN, CHANNEL, PLAIN, Bot, final_status, running_bot, synchronize
from sqlalchemy import func, select

from bot import messages
from bot.block_budget import BLOCKS_BUDGET, blocks_chars
from bot.confirm_modal import confirmation_view
from bot.home_blocks import HomeState, HomeTab, home_view
from bot.ids import COMMAND, ActionId, BlockId, CallbackId
from bot.modal import counter_text, shown_counter
from devtools.slack_emulator import ClientRejected, SlackEmulator
from devtools.slack_emulator.limits import check_message, check_view
from sync_engine.domain import IdentifierType, RunAnnouncement, RunCounts, RunStatus
from sync_engine.run_reason import MAX_REASON_LENGTH, REASON_REQUIRED
from sync_engine.store.database import Database
from sync_engine.store.models import BatchRunRow
from sync_engine.workday.sandbox import SandboxData

REFUSAL = messages.refusal().text
#: What an admin may type: a ticket, and text Slack would read as a mention and a link if not escaped.
REASON = "INC-42 <!channel> & <https://evil.example|bank> 100%"
SHOWN = "INC-42 &lt;!channel&gt; &amp; &lt;https://evil.example|bank&gt; 100%"


def stored_runs(database: Database) -> int:
    """Runs of any status, drafts included (history shows none of those)."""
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(BatchRunRow)) or 0)


def run_numbers(page: dict[str, Any]) -> list[int]:
    return [int(number) for number in re.findall(r"\*Run #(\d+)\*", text_of(page["blocks"]))]


def text_of(blocks: Any) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def reason_block(view: dict[str, Any]) -> dict[str, Any]:
    [block] = [block for block in view["blocks"] if block.get("block_id") == BlockId.REASON]
    return block


def fill(bot: Bot, identifiers: list[str], reason: str | None) -> None:
    """Open the form and fill it in, the reason first: the counter's update that follows must keep it."""
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    if reason is not None:
        ana.type(BlockId.REASON, ActionId.REASON, reason)
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(identifiers))
    bot.wait_for(lambda: shown_counter(ana.open_view()) == counter_text(len(identifiers)))


def test_the_reason_rides_from_the_form_to_the_status_message_and_history(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    fill(bot, ["C-000001", "C-000002"], f"  {REASON}  ")
    assert reason_block(ana.open_view())["optional"] is True  # RESYNC_REQUIRE_REASON is off

    run_id = synchronize(ana)
    confirmation = text_of(ana.open_view()["blocks"])
    assert f"*Reason:* {SHOWN}" in confirmation
    assert ana.submit().error is None  # Confirm

    assert bot.wait_run(run_id).reason == REASON  # trimmed, else as typed
    status = final_status(bot, run_id)
    [line] = [b for b in status["blocks"] if b["type"] == "context" and "Reason" in text_of(b)]
    assert line["elements"][0]["text"] == f":memo: *Reason:* {SHOWN}"

    ana.slash_command(COMMAND, text="history", channel=CHANNEL)
    [page] = bot.wait_for(
        lambda: [e for e in bot.slack.ephemeral(ADMIN) if "Batch synchronizations" in e["text"]]
    )
    assert f":memo: *Reason:* {SHOWN}" in text_of(page["blocks"])

    ana.open_home()
    ana.click_home(ActionId.HOME_TAB_HISTORY)
    home = bot.wait_for(
        lambda: (view := bot.slack.home(ADMIN)) and f"*Run #{run_id}*" in text_of(view) and view
    )
    assert f":memo: *Reason:* {SHOWN}" in text_of(home["blocks"])


def test_back_keeps_the_reason_and_a_new_reason_is_a_new_request(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    fill(bot, ["C-000001"], "INC-1")
    first = synchronize(ana)

    ana.click(ActionId.BACK)
    form = bot.wait_for(lambda: (view := ana.open_view()) and BlockId.REASON in text_of(view) and view)
    assert reason_block(form)["element"]["initial_value"] == "INC-1"
    ana.type(BlockId.REASON, ActionId.REASON, "INC-2")
    second = synchronize(ana)

    assert second != first
    assert (bot.service.get(first).reason, bot.service.get(second).reason) == ("INC-1", "INC-2")


@pytest.fixture
def strict_bot(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> Iterator[Bot]:
    with running_bot(sqlite_database, slack, sandbox_data, None, resync_require_reason=True) as running:
        yield running


def test_a_required_reason_is_required_by_the_client_and_by_the_app(strict_bot: Bot) -> None:
    bot = strict_bot
    ana = bot.user(ADMIN)
    fill(bot, ["C-000001"], None)
    assert reason_block(ana.open_view())["optional"] is False

    # The Slack client itself refuses an empty required input...
    with pytest.raises(ClientRejected) as rejected:
        ana.submit()
    assert BlockId.REASON in rejected.value.errors
    # ...but not blanks, which the app refuses under the field; nothing is stored.
    ana.type(BlockId.REASON, ActionId.REASON, "   ")
    refused = ana.submit()
    assert refused.json == {"response_action": "errors", "errors": {BlockId.REASON: REASON_REQUIRED}}
    assert ana.open_view()["callback_id"] == CallbackId.REQUEST_MODAL  # still the form, to fix
    assert stored_runs(bot.rt.database) == 0

    ana.type(BlockId.REASON, ActionId.REASON, "INC-7")
    run_id = synchronize(ana)
    assert ana.submit().error is None
    assert bot.wait_run(run_id).reason == "INC-7"


def test_history_search_in_slack_finds_runs_by_reason(bot: Bot) -> None:
    ana = bot.user(ADMIN)
    fill(bot, ["C-000001"], "quarter_end close")
    wanted = synchronize(ana)
    assert ana.submit().error is None
    fill(bot, ["C-000002"], "quarter-end close")
    other = synchronize(ana)
    assert ana.submit().error is None
    bot.wait_run(wanted), bot.wait_run(other)

    ana.slash_command(COMMAND, text="history QUARTER_END", channel=CHANNEL)
    [page] = bot.wait_for(lambda: [e for e in bot.slack.ephemeral(ADMIN) if "matching" in e["text"]])

    text = text_of(page["blocks"])
    assert f"*Run #{wanted}*" in text and f"*Run #{other}*" not in text  # `_` is no wildcard
    assert "quarter_end close" in text


def test_a_slack_search_takes_the_text_as_typed_not_as_slack_encodes_it(bot: Bot) -> None:
    wanted = bot.service.submit(IdentifierType.REFERENCE, ["C-404404"], "cli:ops", reason="R&D <Q3> fix").id
    bot.wait_run(wanted)
    ana = bot.user(ADMIN)

    # Slack sends `&`, `<` and `>` of a command's text as entities.
    ana.slash_command(COMMAND, text="history r&amp;d &lt;q3&gt;", channel=CHANNEL)
    [page] = bot.wait_for(lambda: [e for e in bot.slack.ephemeral(ADMIN) if "matching" in e["text"]])

    text = text_of(page["blocks"])
    assert f"*Run #{wanted}*" in text
    assert "matching “r&amp;d &lt;q3&gt;”" in text  # shown as typed (escaped once, as mrkdwn needs)


def test_a_slack_search_pages_through_its_matches_only(bot: Bot) -> None:
    matching = [
        bot.service.submit(IdentifierType.REFERENCE, ["C-404404"], "cli:ops", reason=f"Audit 2026/{n}").id
        for n in range(11)
    ]
    bot.service.submit(IdentifierType.REFERENCE, ["C-404404"], "cli:ops", reason="something else")
    for run_id in matching:
        bot.wait_run(run_id)
    ana = bot.user(ADMIN)

    ana.slash_command(COMMAND, text="history audit 2026/", channel=CHANNEL)
    [first] = bot.wait_for(lambda: [e for e in bot.slack.ephemeral(ADMIN) if "matching" in e["text"]])
    ana.click(ActionId.HISTORY_SEARCH_MORE, message=first)
    second = bot.wait_for(
        lambda: (pages := [e for e in bot.slack.ephemeral(ADMIN) if "matching" in e["text"]])[1:] and pages[1]
    )

    assert run_numbers(first) == matching[:0:-1]  # the ten most recent matches
    assert run_numbers(second) == matching[:1]
    assert "Show more" not in text_of(second)


def test_the_longest_reason_all_escapes_keeps_every_message_within_slacks_limits() -> None:
    reason = "&" * MAX_REASON_LENGTH  # five characters each once escaped
    error = "; ".join(f"{n:032x}: Workday said <no> & failed " + "x" * 300 for n in range(100))
    run = make_run(
        status=RunStatus.ERROR,
        identifiers=[f"{n:032x}" for n in range(100)],
        created_at=datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
        started_at=None,
        counts=RunCounts(),
        resolved=0,
        unresolved=[f"{n:032x}" for n in range(100)],
        error=error,
        announcement=RunAnnouncement(link="https://x/p1", records_link="https://x/f1"),
        reason=reason,
    )

    status = messages.status_message(run)
    check_message(status.text, status.blocks)
    assert blocks_chars(status.blocks) <= BLOCKS_BUDGET
    assert f":memo: *Reason:* {'&amp;' * MAX_REASON_LENGTH}" in text_of(status.blocks)  # whole
    page = messages.history_page([replace(run, id=n) for n in range(10)], offset=0, has_more=True)
    check_message(page.text, page.blocks)
    assert blocks_chars(page.blocks) <= BLOCKS_BUDGET
    assert f":memo: *Reason:* {'&amp;' * 39}…" in text_of(page.blocks)  # cut to 200 characters
    view = home_view(
        HomeState(HomeTab.HISTORY), connection="ok", runs=[replace(run, id=n) for n in range(15)]
    )
    check_view(view)
    check_view(confirmation_view(replace(run, status=RunStatus.DRAFT), channel_id="C_FIN"))
    longest = [f"{n}" + "R" * 254 for n in range(10)]  # ten identifiers of the most characters allowed
    draft = replace(
        run, status=RunStatus.DRAFT, identifier_type=IdentifierType.REFERENCE, identifiers=longest
    )
    check_view(confirmation_view(draft, channel_id="C_FIN"))


def test_a_search_and_its_paging_are_for_admins_only(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> None:
    with running_bot(sqlite_database, slack, sandbox_data, None, admin_cache_seconds=0) as bot:
        for _ in range(11):
            bot.wait_run(
                bot.service.submit(IdentifierType.REFERENCE, ["C-404404"], "cli:ops", reason="INC-5").id
            )
        slack.add_user(PLAIN, name="bob", is_admin=True)
        bob = bot.user(PLAIN)
        bob.slash_command(COMMAND, text="history inc-5", channel=CHANNEL)
        [page] = bot.wait_for(lambda: [e for e in slack.ephemeral(PLAIN) if "Show more" in text_of(e)])

        slack.add_user(PLAIN, name="bob")  # no longer an admin
        bob.slash_command(COMMAND, text="history inc-5", channel=CHANNEL)
        bob.click(ActionId.HISTORY_SEARCH_MORE, message=page)

        refusals = bot.wait_for(
            lambda: len(found := [e for e in slack.ephemeral(PLAIN) if e["text"] == REFUSAL]) >= 2 and found
        )
        assert len(refusals) == 2
        assert [e for e in slack.ephemeral(PLAIN) if "matching" in e["text"]] == [page]  # no other page
