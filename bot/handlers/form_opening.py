"""Opening the request form from any entry point (the command, the Home tab, the shortcuts) through its
trigger_id, with the Workday connection badge.

The trigger_id expires 3 s after the user acted, and Slack's own transit eats into that: the form opens
within 1 s at p99. When no recent check is cached and the one under way is not done by `CHECK_DEADLINE`
(a quick check still shows its outcome, or its reason instead of the form), the form opens at once with
a "checking" badge and is updated once the check is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk import WebClient

from bot import connection_blocks
from bot.handlers.badge import show_outcome
from bot.handlers.deps import Deps
from sync_engine import ConnectionStatus, IdentifierType

__all__ = ["CHECK_DEADLINE", "open_request_form"]

#: Seconds after the user acted until which a connection check is waited for before the form opens
#: anyway (with the admin check and views.open, the form is on screen within 1 s).
CHECK_DEADLINE = 0.4


def open_request_form(
    deps: Deps,
    client: WebClient,
    *,
    user_id: str,
    trigger_id: str,
    channel_id: str,
    arrived: float,
    blocked: Callable[[ConnectionStatus], None] | None = None,
    identifiers: Sequence[str] = (),
    identifier_type: IdentifierType = IdentifierType.SOURCE_ID,
    rerun_of: int | None = None,
) -> None:
    """Open the form for `user_id`, or, when Workday is not connected, call `blocked` with the status
    (by default: open a modal that says so, through the same trigger).

    `channel_id`: where the status goes, unless RESYNC_STATUS_CHANNEL is set (then always there); ""
    opens the form with a channel picker. `arrived`:
    `time.monotonic()` when Slack's request came in. `rerun_of`: the run the form re-runs (Re-run).
    """
    channel_id = deps.settings.resync_status_channel or channel_id
    status = deps.connection.status_within(max(0.0, CHECK_DEADLINE - (time.monotonic() - arrived)))
    if status is not None and status.blocks_runs:
        if blocked is None:
            client.views_open(trigger_id=trigger_id, view=connection_blocks.not_connected_view(status))
        else:
            blocked(status)
        return

    def render(badge: str) -> dict[str, Any]:
        return deps.forms.render(
            user_id,
            channel_id=channel_id,
            connection=badge,
            identifiers=identifiers,
            identifier_type=identifier_type,
            rerun_of=rerun_of,
        )

    opened = deps.forms.open(client, user_id, trigger_id, render(connection_blocks.badge(status)))
    if status is None:
        show_outcome(deps, client, opened, render)
