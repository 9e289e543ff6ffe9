"""Slack's limits, the one table of them: Block Kit validation of messages and views, and message sizes.

Validation answers what Slack answers: "<problem> [json-pointer:/path]" lines (`errors` for messages,
"[ERROR] ..." in `response_metadata.messages`). Limits are Slack's documented ones (slack_sdk's models
carry the same numbers), plus those slack_sdk does not check: plain_text_input min/max_length 0/1..3000,
50 blocks per message, an action_id unique within its block, the blocks' total size.

`check_message` and `check_view` (every builder goes through them in tests) raise `LimitError`.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

__all__ = [
    "MAX_BLOCKS_CHARS",
    "MAX_MESSAGE_BLOCKS",
    "MAX_SNIPPET_BYTES",
    "MAX_TEXT",
    "MAX_UPDATE_TEXT",
    "MAX_VIEW_BLOCKS",
    "MAX_VIEW_BYTES",
    "MAX_VIEW_STACK",
    "LimitError",
    "blocks_too_long",
    "check_message",
    "check_view",
    "message_problems",
    "view_problems",
]

MAX_MESSAGE_BLOCKS = 50
#: Blocks' total characters, serialized: more is refused (msg_blocks_too_long, bolt-js #2509); views alike.
MAX_BLOCKS_CHARS = 13_000
MAX_VIEW_BLOCKS = 100
#: Longest message text: longer ones are cut (chat.postMessage) or refused (chat.postEphemeral).
MAX_TEXT = 40_000
#: chat.update refuses longer texts with msg_too_long.
MAX_UPDATE_TEXT = 4_000
#: views.* refuse larger views with view_too_large.
MAX_VIEW_BYTES = 250 * 1024
#: Snippets (getUploadURLExternal with snippet_type) are limited to 1 MB.
MAX_SNIPPET_BYTES = 1024 * 1024
#: Most views on one user's stack.
MAX_VIEW_STACK = 3
#: Modal title, submit and close texts.
_MAX_VIEW_LABEL = 24
_MAX_PRIVATE_METADATA = 3000
_MAX_ID = 255
_MAX_SECTION_TEXT = 3000
_MAX_FIELDS = 10
_MAX_FIELD_TEXT = 2000
_MAX_HEADER_TEXT = 150
_MAX_MARKDOWN_TEXT = 12000
_MAX_CONTEXT_ELEMENTS = 10
_MAX_ACTIONS_ELEMENTS = 25
_MAX_BUTTON_TEXT = 75
_MAX_BUTTON_VALUE = 2000
_MAX_URL = 3000
_MAX_LABEL = 2000
_MAX_PLACEHOLDER = 150
_MAX_INPUT_LENGTH = 3000
_MAX_OPTION_TEXT = 75
_MAX_OPTION_VALUE = 150
_MAX_ALT_TEXT = 2000

_SELECTS = {
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
}
_PICKERS = {"datepicker", "timepicker", "datetimepicker"}
_INPUT_ELEMENTS = {
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "checkboxes",
    "radio_buttons",
    "file_input",
    "rich_text_input",
    *_SELECTS,
    *_PICKERS,
}
_ACTIONS_ELEMENTS = {"button", "checkboxes", "radio_buttons", "overflow", *_SELECTS, *_PICKERS}
_ACCESSORY_ELEMENTS = {*_ACTIONS_ELEMENTS, "image"}
#: Block types accepted without a closer look (none of our limits apply to them).
_OTHER_BLOCKS = {"divider", "rich_text", "file", "video", "context_actions", "table"}


def blocks_too_long(blocks: Any) -> bool:
    """Blocks Slack refuses for their total size (`MAX_BLOCKS_CHARS`) as slack_sdk serializes them."""
    return len(json.dumps(blocks)) > MAX_BLOCKS_CHARS


def message_problems(blocks: Any) -> list[str]:
    """Problems of a message's `blocks` (chat.postMessage, chat.update, response_url, ...)."""
    checker = _Checker()
    checker.blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
    return checker.problems


def view_problems(view: Any) -> list[str]:
    """Problems of a `view` for views.open / update / push and `response_action: update|push`."""
    checker = _Checker()
    checker.view(view)
    return checker.problems


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, pointer: str, message: str) -> None:
        self.problems.append(f"{message} [json-pointer:{pointer}]")

    def view(self, view: Any) -> None:
        if not isinstance(view, dict):
            self.add("/view", "expected object")
            return
        kind = view.get("type")
        if kind not in ("modal", "home"):
            self.add("/view/type", "must be one of: modal, home")
        blocks = view.get("blocks")
        if blocks is None:
            self.add("/view", "missing required field: blocks")
        else:
            self.blocks(blocks, "/view/blocks", MAX_VIEW_BLOCKS)
            if blocks_too_long(blocks):
                self.add("/view/blocks", f"total length must be at most {MAX_BLOCKS_CHARS} characters")
        if kind == "modal":
            if view.get("title") is None:
                self.add("/view", "missing required field: title")
            for name in ("title", "submit", "close"):
                if view.get(name) is not None:
                    self.text(view[name], f"/view/{name}", _MAX_VIEW_LABEL, plain=True)
            has_input = isinstance(blocks, list) and any(
                isinstance(block, dict) and block.get("type") == "input" for block in blocks
            )
            if has_input and view.get("submit") is None:
                # Slack requires a submit button on a modal with input blocks (docs: modal view `submit`).
                self.add("/view", "missing required field: submit")
        self.string(view.get("private_metadata"), "/view/private_metadata", _MAX_PRIVATE_METADATA)
        self.string(view.get("callback_id"), "/view/callback_id", _MAX_ID)
        self.string(view.get("external_id"), "/view/external_id", _MAX_ID)

    def blocks(self, blocks: Any, pointer: str, limit: int) -> None:
        if not isinstance(blocks, list):
            self.add(pointer, "expected array")
            return
        if len(blocks) > limit:
            self.add(pointer, f"no more than {limit} items allowed")
        seen: set[str] = set()
        for index, block in enumerate(blocks):
            here = f"{pointer}/{index}"
            if not isinstance(block, dict):
                self.add(here, "expected object")
                continue
            block_id = block.get("block_id")
            if isinstance(block_id, str):
                if block_id in seen:
                    self.add(f"{here}/block_id", f"duplicate block_id: {block_id}")
                seen.add(block_id)
            self.string(block_id, f"{here}/block_id", _MAX_ID)
            self.block(block, here)
            self.unique_action_ids(block, here)

    def unique_action_ids(self, block: dict[str, Any], pointer: str) -> None:
        # Slack: an action_id is unique among the action_ids of its block (docs.slack.dev block elements).
        seen: set[str] = set()
        for element in _elements(block):
            action_id = element.get("action_id")
            if isinstance(action_id, str):
                if action_id in seen:
                    self.add(pointer, f"duplicate action_id: {action_id}")
                seen.add(action_id)

    def block(self, block: dict[str, Any], pointer: str) -> None:
        kind = block.get("type")
        if kind == "section":
            if block.get("text") is None and block.get("fields") is None:
                self.add(pointer, "must define either `text` or `fields`")
            if block.get("text") is not None:
                self.text(block["text"], f"{pointer}/text", _MAX_SECTION_TEXT)
            if block.get("fields") is not None:
                self.items(block["fields"], f"{pointer}/fields", _MAX_FIELDS)
                for index, text in enumerate(block["fields"] if isinstance(block["fields"], list) else []):
                    self.text(text, f"{pointer}/fields/{index}", _MAX_FIELD_TEXT)
            if block.get("accessory") is not None:
                self.element(block["accessory"], f"{pointer}/accessory", _ACCESSORY_ELEMENTS)
        elif kind == "header":
            self.required_text(block, "text", pointer, _MAX_HEADER_TEXT, plain=True)
        elif kind == "markdown":
            self.string(block.get("text"), f"{pointer}/text", _MAX_MARKDOWN_TEXT, required=True)
        elif kind == "context":
            self.items(block.get("elements"), f"{pointer}/elements", _MAX_CONTEXT_ELEMENTS)
            for index, element in enumerate(_list(block.get("elements"))):
                here = f"{pointer}/elements/{index}"
                if isinstance(element, dict) and element.get("type") == "image":
                    self.element(element, here, {"image"})
                else:
                    self.text(element, here, _MAX_SECTION_TEXT)
        elif kind == "actions":
            self.items(block.get("elements"), f"{pointer}/elements", _MAX_ACTIONS_ELEMENTS)
            for index, element in enumerate(_list(block.get("elements"))):
                self.element(element, f"{pointer}/elements/{index}", _ACTIONS_ELEMENTS)
        elif kind == "input":
            self.required_text(block, "label", pointer, _MAX_LABEL, plain=True)
            if block.get("hint") is not None:
                self.text(block["hint"], f"{pointer}/hint", _MAX_LABEL, plain=True)
            if block.get("element") is None:
                self.add(pointer, "missing required field: element")
            else:
                self.element(block["element"], f"{pointer}/element", _INPUT_ELEMENTS)
        elif kind == "image":
            self.image(block, pointer)
            if block.get("title") is not None:
                self.text(block["title"], f"{pointer}/title", _MAX_LABEL, plain=True)
        elif kind not in _OTHER_BLOCKS:
            self.add(pointer, "failed to match all allowed schemas")

    def element(self, element: Any, pointer: str, allowed: set[str]) -> None:
        if not isinstance(element, dict) or element.get("type") not in allowed:
            self.add(pointer, "failed to match all allowed schemas")
            return
        kind = element["type"]
        if kind == "image":
            self.image(element, pointer)
            return
        self.string(element.get("action_id"), f"{pointer}/action_id", _MAX_ID)
        if element.get("placeholder") is not None:
            self.text(element["placeholder"], f"{pointer}/placeholder", _MAX_PLACEHOLDER, plain=True)
        if element.get("confirm") is not None:
            self.confirm(element["confirm"], f"{pointer}/confirm")
        if kind == "button":
            self.required_text(element, "text", pointer, _MAX_BUTTON_TEXT, plain=True)
            self.string(element.get("value"), f"{pointer}/value", _MAX_BUTTON_VALUE)
            self.string(element.get("url"), f"{pointer}/url", _MAX_URL)
            self.enum(element.get("style"), f"{pointer}/style", ("primary", "danger"))
        elif kind == "plain_text_input":
            self.integer(element.get("min_length"), f"{pointer}/min_length", 0, _MAX_INPUT_LENGTH)
            self.integer(element.get("max_length"), f"{pointer}/max_length", 1, _MAX_INPUT_LENGTH)
            config = element.get("dispatch_action_config")
            if isinstance(config, dict):
                for index, trigger in enumerate(_list(config.get("trigger_actions_on"))):
                    where = f"{pointer}/dispatch_action_config/trigger_actions_on/{index}"
                    self.enum(trigger, where, ("on_enter_pressed", "on_character_entered"))
        elif kind in ("radio_buttons", "checkboxes"):
            self.options(element.get("options"), f"{pointer}/options", 1, 10)
        elif kind == "overflow":
            self.options(element.get("options"), f"{pointer}/options", 2, 5)
        elif kind in ("static_select", "multi_static_select") and element.get("option_groups") is None:
            self.options(element.get("options"), f"{pointer}/options", 1, 100)

    def image(self, image: dict[str, Any], pointer: str) -> None:
        if image.get("image_url") is None and image.get("slack_file") is None:
            self.add(pointer, "missing required field: image_url")
        self.string(image.get("image_url"), f"{pointer}/image_url", _MAX_URL)
        self.string(image.get("alt_text"), f"{pointer}/alt_text", _MAX_ALT_TEXT, required=True)

    def options(self, options: Any, pointer: str, least: int, most: int) -> None:
        self.items(options, pointer, most, least)
        for index, option in enumerate(_list(options)):
            here = f"{pointer}/{index}"
            if not isinstance(option, dict):
                self.add(here, "expected object")
                continue
            self.required_text(option, "text", here, _MAX_OPTION_TEXT)
            self.string(option.get("value"), f"{here}/value", _MAX_OPTION_VALUE, required=True)
            if option.get("description") is not None:
                self.text(option["description"], f"{here}/description", _MAX_OPTION_TEXT)

    def confirm(self, confirm: Any, pointer: str) -> None:
        if not isinstance(confirm, dict):
            self.add(pointer, "expected object")
            return
        self.required_text(confirm, "title", pointer, 100, plain=True)
        self.required_text(confirm, "text", pointer, 300)
        self.required_text(confirm, "confirm", pointer, 30, plain=True)
        self.required_text(confirm, "deny", pointer, 30, plain=True)
        self.enum(confirm.get("style"), f"{pointer}/style", ("primary", "danger"))

    def required_text(
        self, parent: dict[str, Any], name: str, pointer: str, limit: int, *, plain: bool = False
    ) -> None:
        if parent.get(name) is None:
            self.add(pointer, f"missing required field: {name}")
        else:
            self.text(parent[name], f"{pointer}/{name}", limit, plain=plain)

    def text(self, text: Any, pointer: str, limit: int, *, plain: bool = False) -> None:
        if not isinstance(text, dict):
            self.add(pointer, "expected object")
            return
        self.enum(
            text.get("type"),
            f"{pointer}/type",
            ("plain_text",) if plain else ("plain_text", "mrkdwn"),
            required=True,
        )
        self.string(text.get("text"), f"{pointer}/text", limit, required=True, least=1)

    def string(self, value: Any, pointer: str, limit: int, *, required: bool = False, least: int = 0) -> None:
        if value is None:
            if required:
                parent, _, name = pointer.rpartition("/")
                self.add(parent, f"missing required field: {name}")
            return
        if not isinstance(value, str):
            self.add(pointer, "expected string")
        elif len(value) > limit:
            self.add(pointer, f"must be less than {limit + 1} characters")
        elif len(value) < least:
            self.add(pointer, f"must be more than {least - 1} characters")

    def integer(self, value: Any, pointer: str, least: int, most: int) -> None:
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(pointer, "expected integer")
        elif value < least:
            self.add(pointer, f"must be greater than or equal to {least}")
        elif value > most:
            self.add(pointer, f"must be less than or equal to {most}")

    def items(self, items: Any, pointer: str, most: int, least: int = 1) -> None:
        if not isinstance(items, list):
            self.add(pointer, "expected array")
        elif len(items) > most:
            self.add(pointer, f"no more than {most} items allowed")
        elif len(items) < least:
            self.add(pointer, f"must provide at least {least} items")

    def enum(self, value: Any, pointer: str, allowed: tuple[str, ...], *, required: bool = False) -> None:
        if value is None and not required:
            return
        if value not in allowed:
            self.add(pointer, f"must be one of: {', '.join(allowed)}")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    """A block's interactive elements: its `element`, its `accessory` and its `elements`."""
    found = [block[name] for name in ("element", "accessory") if isinstance(block.get(name), dict)]
    return found + [element for element in _list(block.get("elements")) if isinstance(element, dict)]


class LimitError(ValueError):
    """A built message or view breaks one of Slack's limits."""


def check_message(text: str, blocks: list[dict[str, Any]]) -> None:
    """A message for chat.postMessage / chat.update / chat.postEphemeral / response_url: slack_sdk's
    models, then this table; and fallback text, which our app always sends (notifications, screen
    readers) though Slack accepts blocks without it."""
    if not text:
        raise LimitError("a message needs fallback text (notifications, screen readers)")
    _validate_models(blocks)
    problems = message_problems(blocks)
    if len(text) > MAX_UPDATE_TEXT:
        problems.append(f"fallback text of {len(text)} characters; at most {MAX_UPDATE_TEXT} (chat.update)")
    if blocks_too_long(blocks):
        problems.append(f"blocks total over {MAX_BLOCKS_CHARS} characters (msg_blocks_too_long)")
    _raise(problems)


def check_view(view: dict[str, Any]) -> None:
    """A modal for views.open / views.update: slack_sdk's models, then this table."""
    View(**view).validate_json()
    _validate_models(view["blocks"])
    _raise(view_problems(view))


def _validate_models(blocks: list[dict[str, Any]]) -> None:
    """slack_sdk's own checks (SlackObjectFormationError), a second reading of Slack's documentation."""
    for block in blocks:
        model = Block.parse(block)
        if model is None:
            raise LimitError(f"not a block: {block!r}")
        model.validate_json()


def _raise(problems: list[str]) -> None:
    if problems:
        raise LimitError("; ".join(problems))
