"""The form's Workday connection badge while a check is under way.

Whoever shows the "checking" badge (the command opening the form, or a keystroke updating its counter)
shows the outcome once the check is done, with the hash its own open or update returned: if the view
changed since, whoever changed it later follows up instead, so the last "checking" is always replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import connection
from bot.handlers.deps import Deps
from bot.slack import error_code

__all__ = ["show_outcome"]

JsonDict = dict[str, Any]


def show_outcome(deps: Deps, client: WebClient, shown: JsonDict, render: Callable[[str], JsonDict]) -> None:
    """Wait for the check under way, then replace the "checking" badge of `shown` (a view as Slack
    returned it) with its outcome, or the form with the explanation if runs cannot work.

    `render`: the form with a given badge (and the counter the view shows)."""
    status = deps.connection.status()
    if status.blocks_runs:
        client.views_update(view_id=shown["id"], view=connection.not_connected_view(status))
        return
    try:
        client.views_update(view_id=shown["id"], hash=shown["hash"], view=render(connection.badge(status)))
    except SlackApiError as error:
        if error_code(error) != "hash_conflict":
            raise
