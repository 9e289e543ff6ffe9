"""The Slack app manifests (deploy/slack-manifest.socket-mode.yml and .http.yml) are valid against Slack's
published schema, declare what the bot uses, and each matches the way its mode is deployed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from bot.ids import COMMAND, ShortcutId
from bot.wsgi import EVENTS_PATH

ROOT = Path(__file__).resolve().parents[2]
VENDORED_SCHEMA = Path(__file__).with_name("slack-manifest.schema.1.0.0.json")
SOCKET_MODE = ROOT / "deploy" / "slack-manifest.socket-mode.yml"
HTTP_MODE = ROOT / "deploy" / "slack-manifest.http.yml"
#: The host the HTTP manifest's comment tells the operator to replace with the public HTTPS name.
PLACEHOLDER_HOST = "workday-resync.example.com"


def _manifest(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _urls(manifest: dict[str, Any]) -> list[str | None]:
    [command] = manifest["features"]["slash_commands"]
    settings = manifest["settings"]
    return [
        command.get("url"),
        settings["interactivity"].get("request_url"),
        settings["event_subscriptions"].get("request_url"),
    ]


@pytest.mark.parametrize("path", [SOCKET_MODE, HTTP_MODE], ids=["socket-mode", "http"])
def test_the_manifest_matches_slacks_schema(path: Path) -> None:
    schema = json.loads(VENDORED_SCHEMA.read_text())
    jsonschema.validate(_manifest(path), schema)


@pytest.mark.parametrize("path", [SOCKET_MODE, HTTP_MODE], ids=["socket-mode", "http"])
def test_the_manifest_declares_the_command_and_scopes_the_bot_needs(path: Path) -> None:
    manifest = _manifest(path)
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND == "/workday-resync"
    assert command["usage_hint"] == "[status|history|help]"
    # Exactly what the app calls: commands; chat.* (chat:write); files_upload_v2 (files:write);
    # files.info for the records file's permalink (files:read); conversations.open for the DM fallback
    # (im:write); users.info for the admin check (users:read). No chat:write.public.
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "files:read",
        "files:write",
        "im:write",
        "users:read",
    }
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_the_socket_mode_manifest_needs_no_public_url() -> None:
    manifest = _manifest(SOCKET_MODE)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert _urls(manifest) == [None, None, None]


def test_the_http_manifest_sends_the_command_and_clicks_to_serve_https() -> None:
    """Slack posts to the Request URLs only in HTTP mode, and only to a public HTTPS URL: both must name
    the path `serve --http` answers, on the one placeholder host the operator replaces."""
    manifest = _manifest(HTTP_MODE)
    assert manifest["settings"]["socket_mode_enabled"] is False
    for url in _urls(manifest):
        assert url is not None
        parts = urlsplit(url)
        assert (parts.scheme, parts.hostname, parts.path) == ("https", PLACEHOLDER_HOST, EVENTS_PATH)
    assert PLACEHOLDER_HOST in HTTP_MODE.read_text().split("display_information:")[0]


def test_the_two_manifests_differ_only_in_the_mode() -> None:
    """One app, two ways to reach it: a scope or a command changed in one manifest and not the other
    would make the two deployments behave differently."""
    socket_mode, http = _manifest(SOCKET_MODE), _manifest(HTTP_MODE)
    for manifest in (socket_mode, http):
        del manifest["settings"]["socket_mode_enabled"]
        manifest["features"]["slash_commands"][0].pop("url", None)
        manifest["settings"]["interactivity"].pop("request_url", None)
        manifest["settings"]["event_subscriptions"].pop("request_url", None)
    assert socket_mode == http


@pytest.mark.parametrize("path", [SOCKET_MODE, HTTP_MODE], ids=["socket-mode", "http"])
def test_the_manifest_enables_the_home_tab_its_event_and_the_shortcuts_the_app_listens_to(path: Path) -> None:
    manifest = _manifest(path)
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    shortcuts = {shortcut["type"]: shortcut for shortcut in manifest["features"]["shortcuts"]}
    assert shortcuts["global"]["callback_id"] == ShortcutId.GLOBAL
    assert shortcuts["message"]["callback_id"] == ShortcutId.MESSAGE
    assert shortcuts["global"]["description"].startswith("Batch synchronize Workday customers")
    assert shortcuts["message"]["description"].startswith("Resync customers listed here")
