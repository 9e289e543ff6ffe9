"""Bolt listeners, thin: acknowledge, check the user is an admin, call the run service, render.

One module per Slack surface: `commands` (the slash command), `views` (the modal's submission),
`confirm` (the form's confirmation step), `actions` (the live counter, history paging), `home` (the
Home tab), `shortcuts` (the global and the message shortcut), `preview_buttons` (a finished preview's
Apply and Discard), `approval` (Approve and Reject), `stop` (a run's Stop button), `rerun` (a finished
run's Re-run button). `register` wires them to an App.
"""

from __future__ import annotations

from slack_bolt import App

from bot.handlers import (
    actions,
    approval,
    commands,
    confirm,
    home,
    preview_buttons,
    rerun,
    shortcuts,
    stop,
    views,
)
from bot.handlers.deps import Deps
from bot.home_blocks import HomeState, HomeTab

__all__ = ["Deps", "register"]


def register(app: App, deps: Deps) -> None:
    commands.register(app, deps)
    views.register(app, deps)
    publisher = home.register(app, deps)
    # Once Confirm queued a run, the admin's Home tab shows it in History.
    confirm.register(
        app,
        deps,
        on_queued=lambda client, user_id, run: publisher.publish(client, user_id, HomeState(HomeTab.HISTORY)),
    )
    actions.register(app, deps)
    approval.register(app, deps)
    shortcuts.register(app, deps)
    preview_buttons.register(app, deps)
    stop.register(app, deps)
    rerun.register(app, deps)
