"""Slack's limits on what we build, checked in one place (tests run every builder through these).

slack_sdk's models validate most field lengths when they serialise (`validate_json`); these checks add
the ones they do not: a plain-text input's `max_length` (1..3,000), 50 blocks per message, section text
3,000, fallback text 4,000 (chat.update), and that no block id repeats
(nor an action id within its block).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

__all__ = [
    "MAX_MESSAGE_BLOCKS",
    "MAX_MODAL_BLOCKS",
    "LimitError",
    "check_blocks",
    "check_message",
    "check_view",
]

MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_INPUT_LENGTH = 3000
#: chat.update refuses longer fallback text (`msg_too_long`); chat.postMessage truncates at 40,000.
MAX_MESSAGE_TEXT = 4000
MAX_PRIVATE_METADATA = 3000
MAX_BUTTON_VALUE = 2000

JsonDict = dict[str, Any]


class LimitError(ValueError):
    """A built message or view breaks one of Slack's limits."""


def _elements(block: JsonDict) -> Iterator[JsonDict]:
    if isinstance(block.get("element"), dict):
        yield block["element"]
    if isinstance(block.get("accessory"), dict):
        yield block["accessory"]
    for element in block.get("elements") or []:
        if isinstance(element, dict):
            yield element


def check_blocks(blocks: list[JsonDict], *, max_blocks: int) -> None:
    """Validate each block with slack_sdk's model, then the limits slack_sdk does not check."""
    if len(blocks) > max_blocks:
        raise LimitError(f"{len(blocks)} blocks; at most {max_blocks}")
    block_ids: set[str] = set()
    for block in blocks:
        action_ids: set[str] = set()  # unique within their block (Slack's rule)
        model = Block.parse(block)
        if model is None:
            raise LimitError(f"not a block: {block!r}")
        model.validate_json()
        if block.get("block_id"):
            if block["block_id"] in block_ids:
                raise LimitError(f"block_id {block['block_id']} repeats")
            block_ids.add(block["block_id"])
        if block["type"] == "section":
            text = (block.get("text") or {}).get("text") or ""
            if len(text) > MAX_SECTION_TEXT:
                raise LimitError(f"section text of {len(text)} characters; at most 3000")
            for field in block.get("fields") or []:
                if len(field["text"]) > MAX_FIELD_TEXT:
                    raise LimitError(f"section field of {len(field['text'])} characters")
        for element in _elements(block):
            if element.get("action_id"):
                if element["action_id"] in action_ids:
                    raise LimitError(f"action_id {element['action_id']} repeats")
                action_ids.add(element["action_id"])
            if element.get("type") == "plain_text_input":
                maximum = element.get("max_length")
                if maximum is not None and not 1 <= maximum <= MAX_INPUT_LENGTH:
                    raise LimitError(f"plain_text_input max_length {maximum}; must be 1..{MAX_INPUT_LENGTH}")
            if element.get("type") == "button" and len(element.get("value") or "") > MAX_BUTTON_VALUE:
                raise LimitError("button value over 2,000 characters")


def check_message(text: str, blocks: list[JsonDict]) -> None:
    """A message for chat.postMessage / chat.update / chat.postEphemeral / response_url."""
    if not text:
        raise LimitError("a message needs fallback text (notifications, screen readers)")
    if len(text) > MAX_MESSAGE_TEXT:
        raise LimitError(f"fallback text of {len(text)} characters; at most {MAX_MESSAGE_TEXT}")
    check_blocks(blocks, max_blocks=MAX_MESSAGE_BLOCKS)


def check_view(view: JsonDict) -> None:
    """A modal for views.open / views.update."""
    View(**view).validate_json()
    if len(view.get("private_metadata") or "") > MAX_PRIVATE_METADATA:
        raise LimitError("private_metadata over 3,000 characters")
    check_blocks(view["blocks"], max_blocks=MAX_MODAL_BLOCKS)
