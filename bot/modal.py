"""The request modal: Block Kit builder (pure) and the reading of what the admin entered.

Identifiers never travel in Slack state: `private_metadata` carries only the channel the command came
from and the connection badge (sealed for the user by `bot.forms`). A Slack text input holds at most
3,000 characters (about 90 Workday IDs), so the modal has a second, optional input; the counter and the
submission count both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.ids import ActionId, BlockId, CallbackId
from bot.mrkdwn import plural
from sync_engine import (
    MAX_IDENTIFIERS,
    MAX_REASON_LENGTH,
    TOO_MANY_MESSAGE,
    IdentifierError,
    IdentifierType,
    parse_identifiers,
    split_identifiers,
)

__all__ = [
    "IDENTIFIER_TYPE_LABELS",
    "INPUT_MAX_LENGTH",
    "ModalInput",
    "ModalMetadata",
    "counter_text",
    "prefill",
    "read_modal",
    "request_modal",
    "shown_counter",
    "validate",
]

#: A conversation the status can go to: a channel or private channel id (never a DM or a name).
CHANNEL_ID = re.compile(r"[CG][A-Z0-9_]{2,254}")
#: Slack's ceiling for a plain-text input's `max_length`.
INPUT_MAX_LENGTH = 3000
TITLE = "Workday batch sync"
SUBMIT = "Synchronize"
CLOSE = "Cancel"

IDENTIFIER_TYPE_LABELS = {
    IdentifierType.SOURCE_ID: "Source ID (workdayID)",
    IdentifierType.REFERENCE: "Reference (customer number)",
}

JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModalMetadata:
    """What the modal remembers between Slack requests (its `private_metadata`): no identifiers."""

    channel_id: str
    #: The Workday connection badge (mrkdwn) the modal shows, so an update can show it again.
    connection: str | None = None
    #: The draft run the confirmation step shows (only its id travels through Slack).
    run_id: int | None = None
    #: The finished run whose failed and unresolved customers the form re-runs (opened by Re-run).
    rerun_of: int | None = None

    def dumps(self) -> str:
        data: JsonDict = {"channel_id": self.channel_id}
        if self.connection is not None:
            data["connection"] = self.connection
        if self.run_id is not None:
            data["run_id"] = self.run_id
        if self.rerun_of is not None:
            data["rerun_of"] = self.rerun_of
        return json.dumps(data)

    @classmethod
    def loads(cls, text: str | None) -> ModalMetadata:
        try:
            data = json.loads(text or "{}")
            connection, run_id, rerun_of = data.get("connection"), data.get("run_id"), data.get("rerun_of")
            return cls(
                channel_id=str(data["channel_id"]),
                connection=connection if isinstance(connection, str) else None,
                run_id=run_id if type(run_id) is int else None,
                rerun_of=rerun_of if type(rerun_of) is int else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls(channel_id="")


@dataclass(frozen=True, slots=True)
class ModalInput:
    """The modal's current values, as Slack sent them in `view.state.values`."""

    identifier_type: IdentifierType
    identifiers: str
    more_identifiers: str
    #: The conversation picked for the status (forms opened where no channel is given).
    status_channel: str | None = None
    #: Why (free text or a ticket), as typed.
    reason: str = ""

    @property
    def text(self) -> str:
        return f"{self.identifiers}\n{self.more_identifiers}"

    def count(self) -> int:
        """Distinct identifiers in both inputs (blanks and duplicates dropped), valid or not."""
        return len(split_identifiers(self.text, self.identifier_type))


def read_modal(values: JsonDict) -> ModalInput:
    """Pick the modal's inputs out of `view.state.values` (missing ones read as empty)."""

    def element(block: BlockId, action: ActionId) -> JsonDict:
        found = (values.get(block.value) or {}).get(action.value) or {}
        return found if isinstance(found, dict) else {}

    option = element(BlockId.ID_TYPE, ActionId.ID_TYPE).get("selected_option") or {}
    try:
        identifier_type = IdentifierType(option.get("value", IdentifierType.SOURCE_ID.value))
    except ValueError:
        identifier_type = IdentifierType.SOURCE_ID
    picked = element(BlockId.STATUS_CHANNEL, ActionId.STATUS_CHANNEL).get("selected_conversation")
    return ModalInput(
        identifier_type=identifier_type,
        identifiers=element(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS).get("value") or "",
        more_identifiers=element(BlockId.MORE_IDENTIFIERS, ActionId.MORE_IDENTIFIERS).get("value") or "",
        status_channel=picked if isinstance(picked, str) and CHANNEL_ID.fullmatch(picked) else None,
        reason=_text(element(BlockId.REASON, ActionId.REASON).get("value")),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def validate(modal: ModalInput) -> tuple[list[str], dict[str, str]]:
    """The clean identifiers of both inputs, or errors to show under the input they concern.

    Too many or none: under the first input. Malformed Workday IDs: under the input holding them, with
    that input's own line numbers.
    """
    try:
        return parse_identifiers(modal.text, modal.identifier_type), {}
    except IdentifierError as error:
        message = str(error)
    if message == TOO_MANY_MESSAGE or not split_identifiers(modal.text, modal.identifier_type):
        return [], {BlockId.IDENTIFIERS.value: message}
    errors: dict[str, str] = {}
    for block, text in (
        (BlockId.IDENTIFIERS, modal.identifiers),
        (BlockId.MORE_IDENTIFIERS, modal.more_identifiers),
    ):
        if split_identifiers(text, modal.identifier_type):
            try:
                parse_identifiers(text, modal.identifier_type)
            except IdentifierError as error:
                errors[block.value] = str(error)
    return [], errors or {BlockId.IDENTIFIERS.value: message}


def _channel_picker(default_channel: str | None) -> JsonDict:
    element: JsonDict = {
        "type": "conversations_select",
        "action_id": ActionId.STATUS_CHANNEL.value,
        "placeholder": {"type": "plain_text", "text": "A private channel of the finance admins"},
        "filter": {
            "include": ["public", "private"],
            "exclude_bot_users": True,
            "exclude_external_shared_channels": True,
        },
    }
    if default_channel:
        element["initial_conversation"] = default_channel
    return {
        "type": "input",
        "block_id": BlockId.STATUS_CHANNEL.value,
        "label": {"type": "plain_text", "text": "Post the status in"},
        "hint": {
            "type": "plain_text",
            "text": "The run's status message and its records file (the identifier list) go there; "
            "invite the app to it.",
        },
        "element": element,
    }


def _reason_input(initial: str, *, required: bool) -> JsonDict:
    """*Reason or ticket*: one line kept with the run (required with RESYNC_REQUIRE_REASON)."""
    element: JsonDict = {
        "type": "plain_text_input",
        "action_id": ActionId.REASON.value,
        "max_length": MAX_REASON_LENGTH,
        "placeholder": {"type": "plain_text", "text": "e.g. INC-1234: ledger fix asked by the auditors"},
    }
    if initial:
        element["initial_value"] = initial[:MAX_REASON_LENGTH]
    return {
        "type": "input",
        "block_id": BlockId.REASON.value,
        "optional": not required,
        "label": {"type": "plain_text", "text": "Reason or ticket"},
        "hint": {"type": "plain_text", "text": "Kept with the run and shown on its status and in history."},
        "element": element,
    }


def counter_text(count: int) -> str:
    """The live counter: "12 customers selected", with a warning past the maximum."""
    text = f"*{plural(count, 'customer')} selected*"
    if count > MAX_IDENTIFIERS:
        text += f"  :warning: maximum {MAX_IDENTIFIERS}"
    return text


def shown_counter(view: JsonDict) -> str | None:
    """The counter text a view currently shows (to skip updates that would change nothing)."""
    for block in view.get("blocks") or []:
        if block.get("block_id") == BlockId.COUNTER.value:
            elements = block.get("elements") or [{}]
            text = elements[0].get("text")
            return text if isinstance(text, str) else None
    return None


def _option(identifier_type: IdentifierType) -> JsonDict:
    return {
        "text": {"type": "plain_text", "text": IDENTIFIER_TYPE_LABELS[identifier_type]},
        "value": identifier_type.value,
    }


def prefill(identifiers: Sequence[str]) -> tuple[str, str]:
    """The two inputs' texts holding `identifiers`, one per line (the second when the first is full)."""
    first: list[str] = []
    more: list[str] = []
    size = 0
    for identifier in identifiers:
        size += len(identifier) + 1
        (first if size <= INPUT_MAX_LENGTH + 1 and not more else more).append(identifier)
    return "\n".join(first), "\n".join(more)[:INPUT_MAX_LENGTH]


def _rerun_note(rerun_of: int | None) -> list[JsonDict]:
    if rerun_of is None:
        return []
    text = f":repeat: *Re-run of #{rerun_of}*: its failed and unresolved customers, as they were typed."
    return [
        {
            "type": "context",
            "block_id": BlockId.RERUN_OF.value,
            "elements": [{"type": "mrkdwn", "text": text}],
        }
    ]


def _identifiers_input(
    block: BlockId, action: ActionId, label: str, hint: str, *, optional: bool, initial: str = ""
) -> JsonDict:
    element: JsonDict = {
        "type": "plain_text_input",
        "action_id": action.value,
        "multiline": True,
        "max_length": INPUT_MAX_LENGTH,
        "placeholder": {"type": "plain_text", "text": "One identifier per line"},
        "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
    }
    if initial:
        element["initial_value"] = initial
    return {
        "type": "input",
        "block_id": block.value,
        "optional": optional,
        "dispatch_action": True,
        "label": {"type": "plain_text", "text": label},
        "hint": {"type": "plain_text", "text": hint},
        "element": element,
    }


def request_modal(
    *,
    channel_id: str,
    count: int = 0,
    identifier_type: IdentifierType = IdentifierType.SOURCE_ID,
    connection: str | None = None,
    identifiers: Sequence[str] = (),
    default_channel: str | None = None,
    rerun_of: int | None = None,
    reason: str = "",
    reason_required: bool = False,
) -> JsonDict:
    """The modal of `/workday-resync`; the same ids on every update, so typed text is kept.

    `connection`: the Workday connection badge (mrkdwn) shown in its header. `identifiers`: filled in
    (Back from the confirmation, a message shortcut, Re-run); the counter then shows their number. An empty
    `channel_id` (opened from the Home tab or a global shortcut) adds a picker for the status's
    conversation, set to `default_channel`. `reason`: the *Reason or ticket* filled in (Back);
    `reason_required`: RESYNC_REQUIRE_REASON. `rerun_of`: the run whose failed customers the form re-runs.
    """
    first, more = prefill(identifiers)
    picker = [] if channel_id else [_channel_picker(default_channel)]
    badge = [
        {
            "type": "context",
            "block_id": BlockId.CONNECTION.value,
            "elements": [{"type": "mrkdwn", "text": text}],
        }
        for text in ([connection] if connection is not None else [])
    ]
    return {
        "type": "modal",
        "callback_id": CallbackId.REQUEST_MODAL.value,
        "title": {"type": "plain_text", "text": TITLE},
        "submit": {"type": "plain_text", "text": SUBMIT},
        "close": {"type": "plain_text", "text": CLOSE},
        "private_metadata": ModalMetadata(channel_id, connection, rerun_of=rerun_of).dumps(),
        "blocks": [
            *badge,
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        "Re-import customers from Workday with *all* their invoices, payments and credit "
                        f"notes, overwriting what we hold. Up to {MAX_IDENTIFIERS} customers per batch."
                    ),
                },
            },
            *_rerun_note(rerun_of),
            {
                "type": "input",
                "block_id": BlockId.ID_TYPE.value,
                "dispatch_action": True,
                "label": {"type": "plain_text", "text": "Identifier type"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": ActionId.ID_TYPE.value,
                    "initial_option": _option(identifier_type),
                    "options": [_option(kind) for kind in IdentifierType],
                },
            },
            _identifiers_input(
                BlockId.IDENTIFIERS,
                ActionId.IDENTIFIERS,
                "Identifiers, one per line",
                "Blank lines and duplicates are ignored.",
                optional=False,
                initial=first,
            ),
            _identifiers_input(
                BlockId.MORE_IDENTIFIERS,
                ActionId.MORE_IDENTIFIERS,
                "More identifiers (optional)",
                "A box holds 3,000 characters (about 90 Workday IDs): continue here.",
                optional=True,
                initial=more,
            ),
            {
                "type": "context",
                "block_id": BlockId.COUNTER.value,
                "elements": [{"type": "mrkdwn", "text": counter_text(count or len(identifiers))}],
            },
            _reason_input(reason, required=reason_required),
            *picker,
        ],
    }
