"""Who and where, over HTTP: RESYNC_ADMIN_USERGROUP makes a Slack user group's members the admins (at
every entry point), RESYNC_STATUS_CHANNEL sends every status message and records file to one channel."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from kits.slack_bot import ADMIN, ALLOWED, CHANNEL, OUTSIDE, PLAIN, Bot, running_bot, synchronize

from bot import messages
from bot.ids import COMMAND, ActionId, BlockId, CallbackId, ShortcutId
from bot.settings import load_slack_settings
from devtools.slack_emulator import DEFAULT_SCOPES, SlackEmulator
from sync_engine.errors import SettingsError
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData

GROUP = "S0FINADMINS"
STATUS = "G0FINSTATUS"


@pytest.fixture
def group_bot(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> Iterator[Bot]:
    slack.knobs.scopes = {*DEFAULT_SCOPES, "usergroups:read"}
    slack.set_usergroup(GROUP, [PLAIN])  # Bob is no workspace admin, but in the group
    with running_bot(sqlite_database, slack, sandbox_data, None, resync_admin_usergroup=GROUP) as running:
        yield running


def test_the_user_groups_members_are_the_admins_at_every_entry_point(group_bot: Bot) -> None:
    bot = group_bot
    ana, bob, carl = bot.user(ADMIN), bot.user(PLAIN), bot.user(ALLOWED)

    # Bob (in the group) and Carl (RESYNC_ADMIN_USER_IDS) get the form; Ana, a workspace admin, does not.
    bot.open_request(bob)
    bot.open_request(carl)
    assert ana.slash_command(COMMAND, channel=CHANNEL).status == 200
    refusal = messages.refusal(GROUP).text
    assert f"<!subteam^{GROUP}>" in refusal
    bot.wait_for(lambda: [e for e in bot.slack.ephemeral(ADMIN) if e["text"] == refusal])
    ana.global_shortcut(ShortcutId.GLOBAL)
    assert refusal in json.dumps(bot.wait_for(lambda: ana.open_view())["blocks"])
    ana.open_home()
    bot.wait_for(lambda: (view := bot.slack.home(ADMIN)) and "for the finance admins" in json.dumps(view))
    bob.open_home()
    bot.wait_for(lambda: (view := bot.slack.home(PLAIN)) and "Synchronize customers" in json.dumps(view))

    # One group read answers for everyone (cached); users.info is never asked.
    assert len(bot.slack.calls_to("usergroups.users.list")) == 1
    assert bot.slack.calls_to("users.info") == []


def test_without_usergroups_read_nobody_from_the_group_gets_in(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> None:
    slack.set_usergroup(GROUP, [PLAIN])  # the manifest's scopes: no usergroups:read
    with running_bot(sqlite_database, slack, sandbox_data, None, resync_admin_usergroup=GROUP) as bot:
        bot.user(PLAIN).slash_command(COMMAND, channel=CHANNEL)
        bot.wait_for(lambda: bot.slack.ephemeral(PLAIN))
        assert [call.error for call in bot.slack.calls_to("usergroups.users.list")] == ["missing_scope"]
        assert bot.slack.calls_to("views.open") == []


@pytest.fixture
def channel_bot(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> Iterator[Bot]:
    slack.add_channel(STATUS, name="finance-admins", is_private=True, members=[ADMIN], bot_member=True)
    with running_bot(sqlite_database, slack, sandbox_data, None, resync_status_channel=STATUS) as running:
        yield running


def test_status_messages_and_records_files_always_go_to_the_status_channel(channel_bot: Bot) -> None:
    bot = channel_bot
    ana = bot.user(ADMIN)

    # The command typed in a channel of many (the app is not even in it)…
    form = bot.open_request(ana, OUTSIDE)
    assert json.loads(form["private_metadata"])["channel_id"] == STATUS
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "reference")
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "C-000001\nC-000002")
    run_id = synchronize(ana)
    assert f"<#{STATUS}>" in json.dumps(ana.open_view()["blocks"])
    ana.submit()  # Confirm

    # …shows its identifiers only in the status channel.
    bot.wait_for(
        lambda: bot.status_messages(STATUS) and [f for f in bot.slack.files if f["channel"] == STATUS]
    )
    assert bot.wait_run(run_id).slack_channel == STATUS
    assert bot.slack.messages(OUTSIDE) == [] and bot.slack.messages(CHANNEL) == []
    assert {f["channel"] for f in bot.slack.files} == {STATUS}

    # The global shortcut and Home ask no channel: they say where the status goes.
    ana.global_shortcut(ShortcutId.GLOBAL)
    shortcut_form = bot.wait_for(lambda: (v := ana.open_view())["id"] != form["id"] and v)
    assert shortcut_form["callback_id"] == CallbackId.REQUEST_MODAL
    assert BlockId.STATUS_CHANNEL not in [block["block_id"] for block in shortcut_form["blocks"]]
    assert json.loads(shortcut_form["private_metadata"])["channel_id"] == STATUS
    bot.wait_for(lambda: bot.slack.home(ADMIN))  # Confirm switched it to History
    ana.click_home(ActionId.HOME_TAB_SYNCHRONIZE)
    bot.wait_for(lambda: (view := bot.slack.home(ADMIN)) and f"go to <#{STATUS}>" in json.dumps(view))

    # A message shortcut in another channel too.
    message = bot.slack.say(ADMIN, CHANNEL, "C-000003")
    ana.message_shortcut(ShortcutId.MESSAGE, message)
    from_message = bot.wait_for(lambda: (v := ana.open_view())["id"] != shortcut_form["id"] and v)
    assert json.loads(from_message["private_metadata"])["channel_id"] == STATUS


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RESYNC_STATUS_CHANNEL", "#finance"),
        ("RESYNC_STATUS_CHANNEL", "D0123ABCD"),
        ("RESYNC_ADMIN_USERGROUP", "@finance-admins"),
    ],
)
def test_a_malformed_setting_stops_with_its_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    load_slack_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match=f"Invalid setting {name}"):
            load_slack_settings()
    finally:
        load_slack_settings.cache_clear()
