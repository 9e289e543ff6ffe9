"""Home views that show History follow runs as they change, through the emulator over HTTP: published
again by the status updater (in whichever worker updates the run), at most once per user every 3 s
across processes, only to those whose Home shows History."""

from __future__ import annotations

import itertools
import json
from typing import Any

from kits.slack_bot import ADMIN, OWNER, Bot

from bot.home_publisher import FOLLOW_INTERVAL
from bot.ids import ActionId
from sync_engine.domain import IdentifierType, RunStatus


def home_text(bot: Bot, user: str) -> str:
    view = bot.slack.home(user)
    return json.dumps(view["blocks"], ensure_ascii=False) if view else ""


def publishes(bot: Bot, user: str) -> list[Any]:
    return [call for call in bot.slack.calls_to("views.publish") if call.params["user_id"] == user]


def test_history_on_the_home_tab_follows_a_run_to_its_end(bot_both: Bot) -> None:
    bot = bot_both
    bot.sandbox.knobs.latency = 0.1  # the run takes several seconds: it shows In progress on the way
    ana, olga = bot.user(ADMIN), bot.user(OWNER)
    ana.open_home()
    bot.wait_for(lambda: "Synchronize customers" in home_text(bot, ADMIN))
    ana.click_home(ActionId.HOME_TAB_HISTORY)
    bot.wait_for(lambda: "No batch runs yet." in home_text(bot, ADMIN))
    olga.open_home()  # the owner stays on Synchronize
    bot.wait_for(lambda: "Synchronize customers" in home_text(bot, OWNER))
    clicked = len(publishes(bot, ADMIN))
    olga_before = len(publishes(bot, OWNER))

    # A run nobody clicks anything for (from the terminal): Ana's History shows it as it goes.
    wids = [c.wid for c in bot.sandbox.data.customers[5:35]]
    run = bot.service.submit(IdentifierType.SOURCE_ID, wids, requested_by="cli:ana")

    assert bot.wait_run(run.id).status is RunStatus.COMPLETED
    bot.wait_for(lambda: f"*Run #{run.id}*" in home_text(bot, ADMIN) and "Completed" in home_text(bot, ADMIN))
    followed = publishes(bot, ADMIN)[clicked:]
    assert followed and all(call.ok for call in followed)
    # Never two publishes of Ana's Home within the interval (claimed before each publish: the margin is
    # for the time from a claim to its publish reaching Slack on a loaded machine). The status messages
    # are updated every 0.3 s here: without the claim, publishes would come as often.
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(followed)]
    assert all(gap >= FOLLOW_INTERVAL - 0.5 for gap in gaps), gaps
    assert len(publishes(bot, OWNER)) == olga_before  # her Home shows Synchronize: left alone
