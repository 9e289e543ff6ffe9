"""The form's Workday connection badge while a check is under way.

Whoever shows the "checking" badge (the command opening the form, or a keystroke updating its counter)
shows the outcome once the check is done, with the hash its own open or update returned: if the view
changed since, whoever changed it later follows up instead, so the last "checking" is always replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import connection_blocks
from bot.handlers.deps import Deps
from bot.web_api import error_code

__all__ = ["form_closed", "show_outcome"]

JsonDict = dict[str, Any]

log = logging.getLogger(__name__)


def form_closed(error: SlackApiError, view_id: str) -> bool:
    """A views.update refused because the form is gone: the admin closed it (Cancel, or a new command)
    between the event and our update. Nothing is left to show; not a failure (logged at INFO)."""
    if error_code(error) != "not_found":
        return False
    log.info("The form was closed before its update", extra={"view_id": view_id})
    return True


def show_outcome(deps: Deps, client: WebClient, shown: JsonDict, render: Callable[[str], JsonDict]) -> None:
    """Wait for the check under way, then replace the "checking" badge of `shown` (a view as Slack
    returned it) with its outcome, or the form with the explanation if runs cannot work.

    `render`: the form with a given badge (and the counter the view shows)."""
    status = deps.connection.status()
    try:
        if status.blocks_runs:
            client.views_update(view_id=shown["id"], view=connection_blocks.not_connected_view(status))
            return
        client.views_update(
            view_id=shown["id"], hash=shown["hash"], view=render(connection_blocks.badge(status))
        )
    except SlackApiError as error:
        # hash_conflict: the admin's keystroke updated the form since; that update shows the outcome.
        if error_code(error) != "hash_conflict" and not form_closed(error, shown["id"]):
            raise
