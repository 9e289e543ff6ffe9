"""`/workday-resync status`, the modal's connection badge, and the command explaining instead of opening
the form when Workday is not connected: the app over HTTP, the Slack emulator, the Workday sandbox."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from typing import Any

import pytest
from kits.runs import T0, make_run
from kits.slack_bot import ADMIN, CHANNEL, PLAIN, Bot, fields

from bot import connection_blocks, messages
from bot.app import build_app
from bot.connection_blocks import CHECKING
from bot.http_server import SlackHttpServer
from bot.ids import COMMAND, ActionId, BlockId
from bot.modal import request_modal
from bot.mrkdwn import date_token
from devtools.slack_emulator import SlackUser
from devtools.slack_emulator.limits import check_message, check_view
from sync_engine.connection_status import ConnectionStatus, Problem
from sync_engine.domain import IdentifierType, RunCounts, RunStatus

CHECK_REQUESTS = {"token": 1, "Get_Customers": 1, "Get_Customer_Payments": 1, "invoices": 1}


def answers(bot: Bot, user: str, contains: str) -> list[dict[str, Any]]:
    return [e for e in bot.slack.ephemeral(user) if contains in json.dumps(e)]


def status(bot: Bot, user: str = ADMIN) -> dict[str, Any]:
    """Run `/workday-resync status` and return the app's (newest) answer."""
    before = len(answers(bot, user, "Workday connection"))
    response = bot.user(user).slash_command(COMMAND, text="status", channel=CHANNEL)
    assert response.status == 200 and response.error is None, response
    return bot.wait_for(lambda: answers(bot, user, "Workday connection")[before:])[0]


def badge(view: dict[str, Any]) -> str:
    block = view["blocks"][0]
    assert block["block_id"] == BlockId.CONNECTION
    text: str = block["elements"][0]["text"]
    return text


def test_status_shows_connected_tenant_version_last_verified_and_the_last_run(bot: Bot) -> None:
    shown = status(bot)

    text = json.dumps(shown)
    assert ":large_green_circle: *Connected* to Workday" in text
    values = fields(shown["blocks"])
    assert values["Tenant"] == bot.sandbox.tenant and values["API version"] == "v45.2"
    assert values["Last verified"].startswith("<!date^")
    assert values["Last run"] == "None yet"
    assert bot.sandbox.stats.by_operation() == CHECK_REQUESTS

    customer = bot.sandbox.data.customers[0].customer_id or ""
    run = bot.service.submit(IdentifierType.REFERENCE, [customer], requested_by=ADMIN)
    bot.wait_run(run.id)
    before = bot.sandbox.stats.count("token")
    again = fields(status(bot)["blocks"])

    assert again["Last run"].startswith(f"#{run.id} :white_check_mark: Completed · <!date^")
    assert again["Last verified"] == values["Last verified"]  # the cached check: no new token
    assert bot.sandbox.stats.count("token") == before


def test_status_when_not_connected_gives_the_reason_and_no_secret(bot: Bot) -> None:
    bot.sandbox.knobs.revoked = True

    shown = status(bot)

    text = json.dumps(shown)
    assert ":red_circle: *Not connected* to Workday" in text
    assert "*Why:* Workday is not connected: credentials rejected (invalid_grant)" in text
    assert "WORKDAY_REFRESH_TOKEN" in text
    assert fields(shown["blocks"])["Last verified"] == "Never"
    for secret in (bot.sandbox.client_secret, bot.sandbox.refresh_token):
        assert secret not in text


def test_the_form_shows_the_connected_badge(bot: Bot) -> None:
    view = bot.open_request(bot.user(ADMIN))

    assert badge(view).startswith(":large_green_circle: *Connected* to Workday")
    assert f"tenant `{bot.sandbox.tenant}` · v45.2" in badge(view)


def test_the_badge_stays_while_the_admin_types(bot: Bot) -> None:
    admin = bot.user(ADMIN)
    shown = badge(bot.open_request(admin))
    wid = bot.sandbox.data.customers[0].wid

    admin.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, wid)
    updated = bot.wait_for(lambda: "*1 customer" in json.dumps(view := admin.open_view()) and view)

    assert badge(updated) == shown


def test_when_not_connected_the_command_explains_instead_of_opening_the_form(bot: Bot) -> None:
    bot.sandbox.knobs.unauthorized_operations = {"Get_Customer_Payments"}

    response = bot.user(ADMIN).slash_command(COMMAND, channel=CHANNEL)

    assert response.status == 200 and response.error is None
    [explained] = bot.wait_for(lambda: answers(bot, ADMIN, "Workday is not connected"))
    assert "not authorized for Get_Customer_Payments" in explained["text"]
    assert f"`{COMMAND} status`" in json.dumps(explained["blocks"])
    assert bot.slack.calls_to("views.open") == []


def open_slowly(bot: Bot, user: SlackUser) -> dict[str, Any]:
    """`/workday-resync`, then the form once it opens (it may wait over 2 s for the check)."""
    response = user.slash_command(COMMAND, channel=CHANNEL)
    assert response.status == 200 and response.error is None, response
    return user.open_view(timeout=5)


def test_a_slow_check_opens_the_form_at_once_then_shows_the_outcome(bot: Bot) -> None:
    bot.sandbox.knobs.latency = 1.0  # four requests: longer than the app waits before opening the form
    admin = bot.user(ADMIN)

    opened = open_slowly(bot, admin)

    assert badge(opened) == CHECKING
    updated = bot.wait_for(lambda: CHECKING not in badge(view := admin.open_view()) and view)
    assert updated["id"] == opened["id"]
    assert badge(updated).startswith(":large_green_circle: *Connected*")


def test_a_check_of_a_second_does_not_hold_the_form(bot: Bot) -> None:
    # Four requests of 0.3 s: the form does not wait for them (it must be on screen within 1 s).
    bot.sandbox.knobs.latency = 0.3
    admin = bot.user(ADMIN)

    opened = open_slowly(bot, admin)

    assert badge(opened) == CHECKING
    updated = bot.wait_for(lambda: CHECKING not in badge(view := admin.open_view()) and view)
    assert badge(updated).startswith(":large_green_circle: *Connected*")


def test_typing_while_the_check_runs_still_ends_on_its_outcome(bot: Bot) -> None:
    bot.sandbox.knobs.latency = 1.0
    admin = bot.user(ADMIN)
    opened = open_slowly(bot, admin)
    assert badge(opened) == CHECKING

    # The counter's update lands before the check is done, so it shows "checking" again.
    admin.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, bot.sandbox.data.customers[0].wid)
    bot.wait_for(lambda: "*1 customer" in json.dumps(admin.open_view()))

    done = bot.wait_for(lambda: CHECKING not in badge(view := admin.open_view()) and view)
    assert badge(done).startswith(":large_green_circle: *Connected*")
    assert "*1 customer" in json.dumps(done)  # the badge's update kept the counter
    assert done["id"] == opened["id"]


def test_the_form_opens_in_time_when_slack_and_workday_are_both_slow(bot: Bot) -> None:
    # users.info (the admin check, not cached yet) and views.open each take 0.8 s, the check 1.6 s:
    # checking only after the admin check, the trigger_id would expire before views.open.
    bot.slack.knobs.latency = 0.8
    bot.sandbox.knobs.latency = 0.4
    admin = bot.user(ADMIN)

    opened = open_slowly(bot, admin)  # an expired trigger_id: no form

    assert badge(opened)  # connected, or still checking on a busy machine
    assert bot.slack.calls_to("users.info")


def test_a_slow_check_that_fails_replaces_the_form_with_the_reason(bot: Bot) -> None:
    bot.sandbox.knobs.latency = 1.0
    bot.sandbox.knobs.unauthorized_operations = {"invoices"}
    admin = bot.user(ADMIN)

    opened = open_slowly(bot, admin)
    replaced = bot.wait_for(lambda: (view := admin.open_view()).get("submit") is None and view)

    assert replaced["id"] == opened["id"]
    assert "Workday is not connected" in json.dumps(replaced["blocks"])
    assert "invoices and credit notes list" in json.dumps(replaced["blocks"])


def test_a_hung_redis_gets_a_command_a_503_within_slacks_time_not_a_timeout(bot: Bot) -> None:
    # The replay guard asks Redis before the ack: a Redis that accepts connections and never answers. What
    # it cannot check it refuses, and a hung Redis costs a second of Slack's three.
    with socket.create_server(("127.0.0.1", 0)) as hung:
        settings = bot.settings.model_copy(
            update={"redis_url": f"redis://127.0.0.1:{hung.getsockname()[1]}/0"}
        )
        server = SlackHttpServer(build_app(settings, bot.service)).start()
        try:
            response = bot.slack.user(ADMIN, app_url=server.url).slash_command(
                COMMAND, text="help", channel=CHANNEL
            )
            assert (response.status, response.error) == (503, "dispatch_failed"), response  # not a timeout
            assert not answers(bot, ADMIN, "history")
        finally:
            server.close()


def test_a_non_admin_is_refused_status_and_workday_is_not_asked(bot: Bot) -> None:
    response = bot.user(PLAIN).slash_command(COMMAND, text="status", channel=CHANNEL)

    assert response.status == 200
    [refused] = bot.wait_for(lambda: bot.slack.ephemeral(PLAIN))
    assert refused["text"] == messages.refusal().text
    assert bot.sandbox.stats.total() == 0


def test_help_mentions_status(bot: Bot) -> None:
    bot.user(ADMIN).slash_command(COMMAND, text="help", channel=CHANNEL)

    [shown] = bot.wait_for(lambda: answers(bot, ADMIN, "history"))
    assert f"*`{COMMAND} status`* shows whether Workday is connected" in shown["text"]


# --- the builders, against Slack's limits -------------------------------------------------------------

#: A reason longer than a section holds, with text Slack would read as markup.
LONG_REASON = "Workday refused Get_Customers: <!channel> & " + "x" * 5000


def make_status(problem: Problem | None, reason: str | None = None, **changes: Any) -> ConnectionStatus:
    run = make_run(
        id=3,
        status=RunStatus.ERROR,
        identifier_type=IdentifierType.REFERENCE,
        identifiers=["C-1"],
        started_at=T0,
        finished_at=T0,
        counts=RunCounts(0, 0, 0, 0),
        resolved=1,
        error="The integration user is not authorized <for> Get_Customer_Payments\nsecond line",
        slack_channel=None,
        slack_message_ts=None,
    )
    status = ConnectionStatus(
        connected=problem is None,
        problem=problem,
        reason=reason,
        tenant="acme_tenant",
        api_version="v45.2",
        checked_at=T0,
        verified_at=None if problem else T0,
        last_run=run,
    )
    return replace(status, **changes)


@pytest.mark.parametrize(
    "status",
    [
        make_status(None),
        make_status(None, last_run=None),
        make_status(Problem.CREDENTIALS_REJECTED, "credentials rejected (invalid_client)"),
        make_status(Problem.UNAVAILABLE, LONG_REASON),
        make_status(Problem.REFUSED, LONG_REASON),
        make_status(Problem.SETTINGS_MISSING, "Workday is not configured: set WORKDAY_TENANT.", tenant=None),
    ],
)
def test_every_connection_builder_is_within_slacks_limits_and_escapes_the_reason(
    status: ConnectionStatus,
) -> None:
    shown = connection_blocks.status_message(status)
    explained = connection_blocks.not_connected(status)
    check_message(shown.text, shown.blocks)
    check_message(explained.text, explained.blocks)
    check_view(connection_blocks.not_connected_view(status))
    check_view(request_modal(channel_id=CHANNEL, connection=connection_blocks.badge(status)))
    for blocks in (shown.blocks, explained.blocks):
        assert "<!channel>" not in json.dumps(blocks)
    assert "<for>" not in json.dumps(shown.blocks)
    assert fields(shown.blocks)["Last verified"] == ("Never" if status.problem else date_token(T0))
