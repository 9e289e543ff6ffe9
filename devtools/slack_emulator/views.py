"""Modal mechanics as Slack's servers and clients do them: filling in missing block/action ids, the input
state a modal holds (`view.state.values`), carrying typed input over a views.update, and the checks the
Slack client makes before it lets a user submit."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from devtools.slack_emulator.state import OpenView

__all__ = [
    "assign_ids",
    "carried_values",
    "client_problems",
    "find_button",
    "find_element",
    "fresh_values",
    "view_object",
]

#: Elements whose value the modal keeps in state.values (buttons and overflows keep none).
_TEXT_ELEMENTS = {"plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input"}
_SINGLE_CHOICE = {
    "radio_buttons",
    "conversations_select",
    "static_select",
    "external_select",
}
_MULTI_CHOICE = {"checkboxes", "multi_static_select", "multi_external_select"}


def assign_ids(blocks: list[dict[str, Any]], new_id: Callable[[], str]) -> list[dict[str, Any]]:
    """A copy of `blocks` in which every block has a block_id and every element an action_id: Slack makes
    up random ones when the app sends none, so such an input's state does not survive a views.update."""
    result = copy.deepcopy(blocks)
    for block in result:
        block.setdefault("block_id", new_id())
        for element in _elements(block):
            if element.get("type") != "image":
                element.setdefault("action_id", new_id())
    return result


def fresh_values(blocks: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """The state of freshly opened blocks: each stateful element with its initial value (or none)."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block, element in _stateful(blocks):
        values.setdefault(block["block_id"], {})[element["action_id"]] = _initial_entry(element)
    return values


def carried_values(
    old: OpenView, blocks: list[dict[str, Any]]
) -> tuple[dict[str, dict[str, dict[str, Any]]], set[tuple[str, str]]]:
    """The state after a views.update to `blocks`: an input's value (typed, or its earlier initial value)
    survives where the new view has the same block_id and action_id (and element type), as on Slack, which
    then ignores the new view's initial value there; everything else starts afresh."""
    values = fresh_values(blocks)
    touched: set[tuple[str, str]] = set()
    for block_id, entries in old.values.items():
        for action_id, entry in entries.items():
            if values.get(block_id, {}).get(action_id, {}).get("type") == entry["type"]:
                values[block_id][action_id] = copy.deepcopy(entry)
                if (block_id, action_id) in old.touched:
                    touched.add((block_id, action_id))
    return values, touched


def view_object(
    opened: OpenView, *, team_id: str, app_id: str, bot_id: str, with_state: bool = True
) -> dict[str, Any]:
    """The view as Slack shows it: in API answers state holds only what the user entered; in payloads to
    the app (`with_state`) every stateful element is there, empty ones with a null value."""
    view = copy.deepcopy(opened.view)
    if with_state:
        values = copy.deepcopy(opened.values)
    else:
        values = {}
        for block_id, action_id in opened.touched:
            values.setdefault(block_id, {})[action_id] = copy.deepcopy(opened.values[block_id][action_id])
    view.update(
        {
            "id": opened.id,
            "team_id": team_id,
            "state": {"values": values},
            "hash": opened.hash,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "previous_view_id": opened.previous_view_id,
            "root_view_id": opened.root_view_id,
            "app_id": app_id,
            "app_installed_team_id": team_id,
            "bot_id": bot_id,
        }
    )
    view.setdefault("submit", None)
    view.setdefault("close", None)
    return view


def find_element(
    blocks: list[dict[str, Any]], block_id: str, action_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The (block, element) with these ids."""
    for block in blocks:
        if block.get("block_id") != block_id:
            continue
        for element in _elements(block):
            if element.get("action_id") == action_id:
                return block, element
    return None


def find_button(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The first (block, button) with this action_id (and block_id, when given)."""
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        for element in _elements(block):
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return block, element
    return None


def client_problems(opened: OpenView) -> dict[str, str]:
    """What the Slack client shows under the inputs instead of submitting: required inputs left empty and
    texts outside min_length/max_length, by block_id."""
    problems: dict[str, str] = {}
    for block in opened.view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block.get("element", {})
        entry = opened.values.get(block["block_id"], {}).get(element.get("action_id", ""), {})
        filled = (
            entry.get("value")
            or entry.get("selected_option")
            or entry.get("selected_options")
            or entry.get("selected_conversation")
        )
        if not filled:
            if not block.get("optional", False):
                problems[block["block_id"]] = "Please complete this required field."
            continue
        value = entry.get("value")
        if isinstance(value, str):
            if len(value) < element.get("min_length", 0):
                problems[block["block_id"]] = f"Please enter at least {element['min_length']} characters."
            elif len(value) > element.get("max_length", len(value)):
                problems[block["block_id"]] = f"Please enter no more than {element['max_length']} characters."
    return problems


def _elements(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if block.get("type") == "input" and isinstance(block.get("element"), dict):
        yield block["element"]
    elif block.get("type") == "actions":
        yield from (element for element in block.get("elements", []) if isinstance(element, dict))
    elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
        yield block["accessory"]


def _stateful(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for block in blocks:
        for element in _elements(block):
            if element.get("type") in _TEXT_ELEMENTS | _SINGLE_CHOICE | _MULTI_CHOICE:
                yield block, element


def _initial_entry(element: dict[str, Any]) -> dict[str, Any]:
    kind = element["type"]
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": element.get("initial_conversation")}
    if kind in _SINGLE_CHOICE:
        return {"type": kind, "selected_option": copy.deepcopy(element.get("initial_option"))}
    if kind in _MULTI_CHOICE:
        return {"type": kind, "selected_options": copy.deepcopy(element.get("initial_options", []))}
    return {"type": kind, "value": element.get("initial_value")}
