"""What a user sees on screen, as plain text: a modal (with what they typed) or a message, from the Block
Kit the app sent. For the Slack demo's transcript and for reading test failures; `EventLog.transcript()`
shows the wire instead. Pure: dicts in, lines out.

mrkdwn is shown as Slack's client would resolve it: `<@U…>` as @name, `<#C…>` as #channel, `<url|text>` as
text, `<!date^…>` in the reader's time zone, `&lt;` `&gt;` `&amp;` unescaped, a few emoji as characters.
`*bold*` stays marked, as typed in Slack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["Names", "message_lines", "modal_lines"]

#: Who and where, for mentions: user id → name, channel id → name.
Names = Mapping[str, str]

_TOKEN = re.compile(r"<([^<>]*)>")
_EMOJI = {
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":warning:": "⚠️",
    ":hourglass_flowing_sand:": "⏳",
    ":inbox_tray:": "📥",
    ":memo:": "📝",
    ":no_entry_sign:": "🚫",
    ":stopwatch:": "⏱️",
    ":large_green_circle:": "🟢",
    ":large_yellow_circle:": "🟡",
    ":red_circle:": "🔴",
}
_INDENT = "  "


def mrkdwn(text: str, names: Names, tz: str = "UTC") -> str:
    """Slack's markup as its client shows it."""

    def token(match: re.Match[str]) -> str:
        inside = match.group(1)
        target, _, label = inside.partition("|")
        if target.startswith("@"):
            return "@" + names.get(target[1:], target[1:])
        if target.startswith("#"):
            return "#" + (label or names.get(target[1:], target[1:]))
        if target.startswith("!date^"):
            stamp = int(target.split("^")[1])
            return datetime.fromtimestamp(stamp, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")
        if target.startswith("!"):
            return "@" + target[1:]
        return label or target

    shown = _TOKEN.sub(token, text)
    for code, character in _EMOJI.items():
        shown = shown.replace(code, character)
    return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: Mapping[str, Any] | None, names: Names, tz: str) -> str:
    if not obj:
        return ""
    text = str(obj.get("text", ""))
    return mrkdwn(text, names, tz) if obj.get("type") == "mrkdwn" else text


def _button_row(elements: list[dict[str, Any]], names: Names, tz: str) -> str:
    return "  ".join(f"[{_text(element.get('text'), names, tz)}]" for element in elements)


def _input_lines(block: dict[str, Any], values: Mapping[str, Any], names: Names, tz: str) -> list[str]:
    element = block.get("element", {})
    entered = values.get(str(block.get("block_id")), {}).get(element.get("action_id"), {})
    lines = [_text(block.get("label"), names, tz)]
    if element.get("type") == "radio_buttons":
        chosen = (entered.get("selected_option") or element.get("initial_option") or {}).get("value")
        lines.append(
            _INDENT
            + "   ".join(
                f"{'(•)' if option.get('value') == chosen else '( )'} {_text(option.get('text'), names, tz)}"
                for option in element.get("options", [])
            )
        )
    else:
        value = entered.get("value") or ""
        shown = value.splitlines() or [f"({_text(element.get('placeholder'), names, tz)})"]
        lines.extend(f"{_INDENT}│ {line}" for line in shown)
    if block.get("hint"):
        lines.append(f"{_INDENT}{_text(block['hint'], names, tz)}")
    return lines


def _block_lines(block: dict[str, Any], values: Mapping[str, Any], names: Names, tz: str) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [_text(block.get("text"), names, tz).upper()]
    if kind == "divider":
        return ["─" * 40]
    if kind == "context":
        return [" · ".join(_text(element, names, tz) for element in block.get("elements", []))]
    if kind == "actions":
        return [_button_row(block.get("elements", []), names, tz)]
    if kind == "input":
        return _input_lines(block, values, names, tz)
    lines = _text(block.get("text"), names, tz).splitlines() if block.get("text") else []
    for field in block.get("fields", []):
        label, _, value = _text(field, names, tz).partition("\n")
        lines.append(f"{label.strip('*')}: {value}")
    if block.get("accessory", {}).get("type") == "button":
        lines.append(_button_row([block["accessory"]], names, tz))
    return lines


def modal_lines(view: Mapping[str, Any], names: Names, tz: str = "UTC") -> list[str]:
    """A modal as its user sees it: title, blocks with what was typed or chosen, its buttons."""
    values = (view.get("state") or {}).get("values") or {}
    lines = [f"┌─ {_text(view.get('title'), names, tz)} ─"]
    for block in view.get("blocks", []):
        lines.extend(f"│ {line}" for line in _block_lines(block, values, names, tz))
    buttons = [_text(view.get(key), names, tz) for key in ("close", "submit") if view.get(key)]
    lines.append("└─ " + "  ".join(f"[{button}]" for button in buttons))
    return lines


def message_lines(message: Mapping[str, Any], names: Names, tz: str = "UTC") -> list[str]:
    """A message (a dict from `SlackEmulator.messages()` or `.ephemeral()`) as its reader sees it: its
    blocks, else its text; the files it carries."""
    blocks = message.get("blocks") or []
    lines = [line for block in blocks for line in _block_lines(block, {}, names, tz)]
    if not blocks:
        lines = mrkdwn(str(message.get("text", "")), names, tz).splitlines()
    lines.extend(f"📎 {file.get('title') or file.get('name')}" for file in message.get("files") or [])
    return lines
