"""The Bolt app: its Web API client (SLACK_API_URL, 429s retried), listeners and error handler."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.admins import ADMIN_CACHE_SECONDS, AdminCheck
from bot.handlers import Deps, register
from bot.slack import build_client
from sync_engine.errors import SettingsError
from sync_engine.service import RunService
from sync_engine.settings import Settings

__all__ = ["build_app"]

log = logging.getLogger(__name__)


def build_app(
    settings: Settings,
    service: RunService,
    *,
    socket_mode: bool = False,
    client: WebClient | None = None,
    admin_cache_seconds: float = ADMIN_CACHE_SECONDS,
) -> App:
    """A single-workspace Bolt app on the run service.

    In HTTP mode every request's signature is verified with SLACK_SIGNING_SECRET (required); Socket Mode
    requests come over the app's own authenticated WebSocket and carry none.
    """
    if settings.slack_bot_token is None:
        raise SettingsError("SLACK_BOT_TOKEN is not set: the Slack app needs its bot token (xoxb-…).")
    if not socket_mode and settings.slack_signing_secret is None:
        raise SettingsError("SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it.")
    client = client or build_client(settings, wait_on_rate_limits=True)
    secret = settings.slack_signing_secret
    app = App(
        name="workday-resync",
        client=client,  # carries the bot token
        signing_secret=secret.get_secret_value() if secret else "",
        request_verification_enabled=not socket_mode,
    )
    deps = Deps(
        service=service,
        is_admin=AdminCheck(client, settings.resync_admin_user_ids, ttl=admin_cache_seconds),
        settings=settings,
    )
    register(app, deps)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        # Logged with what identifies the request, never its tokens or the typed identifiers.
        log.error(
            "Slack request failed",
            exc_info=error,
            extra={"type": body.get("type") or "slash_command", "user": _user(body)},
        )

    return app


def _user(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id"))
    return body.get("user_id")
