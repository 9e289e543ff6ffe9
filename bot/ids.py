"""Every id the Slack app puts on the wire: the command, callback ids, block ids and action ids.

Handlers, builders and tests import them from here, so one rename can never split a modal from its
listener. Input block and action ids must stay stable across `views.update`: Slack keeps what the admin
typed only in inputs whose ids did not change.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["COMMAND", "ActionId", "BlockId", "CallbackId", "ShortcutId"]

#: The slash command (also in deploy/slack-manifest.*.yml).
COMMAND = "/workday-resync"


class CallbackId(StrEnum):
    REQUEST_MODAL = "workday_resync_request"
    #: The same form once Synchronize turned it into the confirmation (then "Run #N is queued").
    CONFIRM_MODAL = "workday_resync_confirm"


class ShortcutId(StrEnum):
    """The shortcuts' callback ids (also in manifest.yml)."""

    GLOBAL = "workday_resync_batch"
    MESSAGE = "workday_resync_message"


class BlockId(StrEnum):
    #: The modal's Workday connection badge.
    CONNECTION = "connection"
    ID_TYPE = "id_type"
    IDENTIFIERS = "identifiers"
    MORE_IDENTIFIERS = "identifiers_more"
    COUNTER = "counter"
    STATUS_CHANNEL = "status_channel"
    REASON = "reason"
    CONFIRM_WARNING = "confirm_warning"
    CONFIRM_ACTIONS = "confirm_actions"
    QUEUED_LINKS = "queued_links"
    HISTORY_MORE = "history_more"
    #: Prefix: one block per run, `history_error_<run id>`.
    HISTORY_ERROR = "history_error"
    HOME_TABS = "home_tabs"
    HOME_SYNCHRONIZE = "home_synchronize"
    HOME_PAGING = "home_paging"
    #: Prefix: one block per run, `home_error_<run id>`.
    HOME_ERROR = "home_error"
    #: Prefix: a status message's Approve and Reject, `approval_<run id>`.
    APPROVAL = "approval"
    #: A finished preview's Apply and Discard (its status message).
    PREVIEW_ACTIONS = "preview_actions"
    #: The status message's Stop button, while the run works.
    RUN_STOP = "run_stop"
    #: A finished run's status message: Re-run its failed and unresolved customers.
    RERUN = "rerun_failed"
    #: The request form opened for a re-run: which run it re-runs.
    RERUN_OF = "rerun_of"


class ActionId(StrEnum):
    ID_TYPE = "id_type_choice"
    IDENTIFIERS = "identifiers_input"
    MORE_IDENTIFIERS = "identifiers_more_input"
    STATUS_CHANNEL = "status_channel_choice"
    REASON = "reason_input"
    #: The confirmation's way back to the filled form.
    BACK = "back_to_form"
    #: Link buttons of "Run #N is queued" (Slack still sends their clicks: acknowledged, nothing more).
    OPEN_HOME = "open_home_history"
    OPEN_STATUS = "open_status_message"
    HISTORY_MORE = "history_more"
    #: "Show more" of a search (`/workday-resync history TEXT`): its value is "OFFSET TEXT".
    HISTORY_SEARCH_MORE = "history_search_more"
    HISTORY_ERROR = "history_full_error"
    HOME_TAB_SYNCHRONIZE = "home_tab_synchronize"
    HOME_TAB_HISTORY = "home_tab_history"
    HOME_SYNCHRONIZE = "home_open_form"
    HOME_NEWER = "home_newer"
    HOME_OLDER = "home_older"
    HOME_FULL_ERROR = "home_full_error"
    #: A run awaiting a second admin's approval (its status message's buttons).
    APPROVE_RUN = "approve_run"
    REJECT_RUN = "reject_run"
    #: The confirmation's "Preview changes first": queue the draft as a preview.
    PREVIEW_FIRST = "preview_changes_first"
    APPLY_PREVIEW = "apply_preview"
    DISCARD_PREVIEW = "discard_preview"
    #: Stop a running run (its status message; the value is the run id).
    STOP_RUN = "stop_run"
    RERUN = "rerun_failed"
