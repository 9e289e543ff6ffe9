"""The Home tab's listeners: `app_home_opened` publishes the window, its tab buttons and paging publish it
again, *Synchronize customers* opens the request form through the click's trigger_id, *Full error* opens a
run's whole error in a modal. Every one of them checks the user is an admin; anyone else sees a note.

`bot.home_publisher.HomePublisher` publishes every Home view (Confirm uses it to switch the admin to
History) and remembers who has History open, so that the status updater follows runs on it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.handlers.actions import int_value
from bot.handlers.deps import Deps
from bot.handlers.form_opening import open_request_form
from bot.home_blocks import HomeState, HomeTab, error_modal
from bot.home_publisher import HomePublisher
from bot.home_watchers import history_watchers
from bot.ids import ActionId
from sync_engine import RunNotFoundError, shared_redis

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> HomePublisher:
    settings = deps.settings
    home = HomePublisher(
        deps.service,
        deps.is_admin,
        deps.connection,
        history_watchers(shared_redis(settings), settings.database_url),
        status_channel=settings.resync_status_channel,
    )

    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        # Bolt acknowledges an event once its listener returns.
        if event.get("tab") != "home":
            return  # the app's Messages tab
        view = event.get("view") if isinstance(event.get("view"), dict) else {}
        state = HomeState.loads((view or {}).get("private_metadata"))
        deps.after_ack(body, lambda: home.publish(client, event["user"], state))

    def on_tab(tab: HomeTab) -> Any:
        def switch(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()

            def work() -> None:
                home.publish(client, body["user"]["id"], HomeState(tab))

            deps.after_ack(body, work)

        return switch

    app.action(ActionId.HOME_TAB_SYNCHRONIZE.value)(on_tab(HomeTab.SYNCHRONIZE))
    app.action(ActionId.HOME_TAB_HISTORY.value)(on_tab(HomeTab.HISTORY))

    def on_page(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()

        def work() -> None:
            home.publish(client, body["user"]["id"], HomeState(HomeTab.HISTORY, max(0, int_value(body) or 0)))

        deps.after_ack(body, work)

    for paging in (ActionId.HOME_NEWER, ActionId.HOME_OLDER):
        app.action(paging.value)(on_page)

    @app.action(ActionId.HOME_SYNCHRONIZE.value)
    def on_synchronize(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        arrived = time.monotonic()
        ack()

        def work() -> None:
            user_id = body["user"]["id"]
            if not deps.is_admin(user_id):
                home.publish(client, user_id, HomeState())
                return
            trigger_id = body["trigger_id"]

            open_request_form(
                deps,
                client,
                user_id=user_id,
                trigger_id=trigger_id,
                channel_id="",  # the form asks where the status goes
                arrived=arrived,
            )

        deps.after_ack(body, work)

    @app.action(ActionId.HOME_FULL_ERROR.value)
    def on_full_error(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()

        def work() -> None:
            user_id = body["user"]["id"]
            if not deps.is_admin(user_id):
                home.publish(client, user_id, HomeState())
                return
            run_id = int_value(body)
            try:
                run = deps.service.get(run_id if run_id is not None else -1)
            except RunNotFoundError:
                log.warning("Full error of an unknown run asked", extra={"user": user_id})
                return
            client.views_open(trigger_id=body["trigger_id"], view=error_modal(run))

        deps.after_ack(body, work)

    return home
