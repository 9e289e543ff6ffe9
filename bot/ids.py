"""Every id the Slack app puts on the wire: the command, callback ids, block ids and action ids.

Handlers, builders and tests import them from here, so one rename can never split a modal from its
listener. Input block and action ids must stay stable across `views.update`: Slack keeps what the admin
typed only in inputs whose ids did not change.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["COMMAND", "ActionId", "BlockId", "CallbackId"]

#: The slash command (also in deploy/slack-manifest.*.yml).
COMMAND = "/workday-resync"


class CallbackId(StrEnum):
    REQUEST_MODAL = "workday_resync_request"


class BlockId(StrEnum):
    #: The modal's Workday connection badge.
    CONNECTION = "connection"
    ID_TYPE = "id_type"
    IDENTIFIERS = "identifiers"
    MORE_IDENTIFIERS = "identifiers_more"
    COUNTER = "counter"
    CONFIRM_ACTIONS = "confirm_actions"
    HISTORY_MORE = "history_more"
    #: Prefix: one block per run, `history_error_<run id>`.
    HISTORY_ERROR = "history_error"


class ActionId(StrEnum):
    ID_TYPE = "id_type_choice"
    IDENTIFIERS = "identifiers_input"
    MORE_IDENTIFIERS = "identifiers_more_input"
    CONFIRM = "confirm_run"
    CANCEL = "cancel_run"
    HISTORY_MORE = "history_more"
    HISTORY_ERROR = "history_full_error"
