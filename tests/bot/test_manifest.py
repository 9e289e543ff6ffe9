"""The Slack app manifest is valid against Slack's published schema and declares what the bot uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bot.ids import COMMAND, ShortcutId

ROOT = Path(__file__).resolve().parents[2]
VENDORED_SCHEMA = ROOT / "tests" / "bot" / "slack-manifest.schema.1.0.0.json"


def _manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_matches_slacks_schema() -> None:
    schema = json.loads(VENDORED_SCHEMA.read_text())
    jsonschema.validate(_manifest(), schema)


def test_manifest_declares_the_command_and_scopes_the_bot_needs() -> None:
    manifest = _manifest()
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND == "/workday-resync"
    assert command["usage_hint"] == "[status|history|help]"
    # Exactly what the app calls: commands; chat.* (chat:write); files_upload_v2 (files:write);
    # conversations.open for the DM fallback (im:write); users.info for the admin check (users:read).
    # No files:read (no file_input in the modal) and no chat:write.public.
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "files:write",
        "im:write",
        "users:read",
    }
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_manifest_enables_the_home_tab_its_event_and_the_shortcuts_the_app_listens_to() -> None:
    manifest = _manifest()
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    shortcuts = {shortcut["type"]: shortcut for shortcut in manifest["features"]["shortcuts"]}
    assert shortcuts["global"]["callback_id"] == ShortcutId.GLOBAL
    assert shortcuts["message"]["callback_id"] == ShortcutId.MESSAGE
    assert shortcuts["global"]["description"].startswith("Batch synchronize Workday customers")
    assert shortcuts["message"]["description"].startswith("Resync customers listed here")
