"""`HomePublisher`: the one way a user's Home tab is published (`views.publish`): the note for a
non-admin, else the window on the tab asked. It keeps `bot.home_watchers` current (History open or not)
and re-publishes History for whoever has it open when runs change (`follow`, from the status updater).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import connection_blocks
from bot.admins import AdminCheck
from bot.home_blocks import HISTORY_PAGE, HomeState, HomeTab, home_view, not_admin_view
from bot.home_watchers import HistoryWatchers
from bot.web_api import error_code
from sync_engine import ConnectionService, ConnectionStatus, RunService

__all__ = ["FOLLOW_INTERVAL", "HOME_CHECK_WAIT", "HomePublisher"]

log = logging.getLogger(__name__)

#: Seconds a publish waits for a connection check under way before it shows "checking" (then publishes
#: the outcome once the check is done).
HOME_CHECK_WAIT = 1.0
#: Least seconds between two publishes of one user's Home that follow runs (service-wide).
FOLLOW_INTERVAL = 3.0

#: `claim(name, ttl)`: True for the one caller, service-wide, that may act on `name` for `ttl` seconds
#: (the status throttle's, `bot.status.throttle.Throttle.claim`).
Claim = Callable[[str, float], bool]


class HomePublisher:
    def __init__(
        self,
        service: RunService,
        is_admin: AdminCheck,
        connection: ConnectionService,
        watchers: HistoryWatchers,
        *,
        status_channel: str | None = None,
    ) -> None:
        self._service = service
        self._is_admin = is_admin
        self._connection = connection
        self._watchers = watchers
        self._status_channel = status_channel

    def publish(self, client: WebClient, user_id: str, state: HomeState) -> None:
        if not self._is_admin(user_id):
            self._watchers.unwatch(user_id)
            client.views_publish(user_id=user_id, view=not_admin_view())
            return
        if state.tab is HomeTab.HISTORY:
            self._watchers.watch(user_id, state.offset, "")  # runs that change from now on reach it
        else:
            self._watchers.unwatch(user_id)
        status = self._connection.status_within(HOME_CHECK_WAIT)
        view = self._render(state, status)
        shown = client.views_publish(user_id=user_id, view=view)["view"]
        self._watch(user_id, state, view)
        # The check's outcome, or runs that changed while this view was on its way (a follow-up
        # published then may have landed first): shown now, with the hash of our publish (a later publish,
        # e.g. a tab switch, shows them itself).
        newer = self._render(state, status or self._connection.status())
        if _digest(newer) == _digest(view):
            return
        try:
            client.views_publish(user_id=user_id, view=newer, hash=shown["hash"])
        except SlackApiError as error:
            if error_code(error) != "hash_conflict":
                raise
        else:
            self._watch(user_id, state, newer)

    def follow(self, client: WebClient, claim: Claim) -> float | None:
        """Runs changed: publish History again for each user who has it open, at most once per user
        every `FOLLOW_INTERVAL` seconds across processes. Seconds until the users skipped now may be
        published (call again then, so the newest state reaches them), or None."""
        watchers = self._watchers.watching()
        if not watchers:
            return None
        status = self._connection.status_within(0.0)
        if status is None:
            # Not waited for here (a status update's thread): published once the check is cached, so
            # that a followed History never stays on "checking".
            return FOLLOW_INTERVAL
        later = None
        views: dict[int, dict[str, Any]] = {}
        for watcher in watchers:
            state = HomeState(HomeTab.HISTORY, watcher.offset)
            if state.offset not in views:
                views[state.offset] = self._render(state, status)
            view = views[state.offset]
            if _digest(view) == watcher.shown:
                continue  # they see this already
            if not claim(f"home:{watcher.user_id}", FOLLOW_INTERVAL):
                later = FOLLOW_INTERVAL
                continue
            try:
                if not self._is_admin(watcher.user_id):
                    # No longer an admin (or no answer): runs stop reaching them; the next Home they
                    # open says why.
                    self._watchers.unwatch(watcher.user_id)
                    continue
                client.views_publish(user_id=watcher.user_id, view=view)
                self._watch(watcher.user_id, state, view)
            except SlackApiError as error:
                log.warning(
                    "Could not follow runs on a Home tab",
                    extra={"user": watcher.user_id, "error": error_code(error)},
                )
        return later

    def _watch(self, user_id: str, state: HomeState, view: dict[str, Any]) -> None:
        if state.tab is HomeTab.HISTORY:
            self._watchers.watch(user_id, state.offset, _digest(view))

    def _render(self, state: HomeState, status: ConnectionStatus | None) -> dict[str, Any]:
        badge = connection_blocks.badge(status)
        if state.tab is not HomeTab.HISTORY:
            return home_view(state, connection=badge, status_channel=self._status_channel)
        runs = self._service.history(limit=HISTORY_PAGE + 1, offset=state.offset)
        return home_view(state, connection=badge, runs=runs[:HISTORY_PAGE], has_more=len(runs) > HISTORY_PAGE)


def _digest(view: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()[:32]
