"""Requests Slack would never send, refused before any listener: every command and interaction names
its user, so one without a user is forged (a listener would fail on it, and with no user to answer).
The app subscribes to no Events API events (those name users elsewhere)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse

__all__ = ["require_user"]

log = logging.getLogger(__name__)


def require_user(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
    """Bolt middleware: 400 for a command or interaction without a user id."""
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else body.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        log.warning("Slack request without a user refused", extra={"type": body.get("type") or "command"})
        return BoltResponse(status=400, body="")
    return next()
