"""Requests Slack would never send, refused before any listener: every command and interaction names
its user, so one without a user is forged (a listener would fail on it, and with no user to answer);
the objects of a payload are objects (Bolt fails on a `view` that is a string: a 500 and a traceback).
The one Events API event the app subscribes to, `app_home_opened`, names its user inside `event`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse

__all__ = ["require_user", "well_formed"]

log = logging.getLogger(__name__)

#: Fields of a payload that Slack always sends as JSON objects, and that Bolt and the listeners read as such.
_OBJECTS = ("user", "team", "channel", "container", "view", "message", "enterprise", "event")


def require_user(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
    """Bolt middleware: 400 for a command, interaction or event without a user id."""
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else body.get("user_id")
    event = body.get("event")
    if body.get("type") == "event_callback" and isinstance(event, dict):
        user_id = event.get("user")
    if not isinstance(user_id, str) or not user_id:
        log.warning("Slack request without a user refused", extra={"type": body.get("type") or "command"})
        return BoltResponse(status=400, body="")
    return next()


def well_formed(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
    """Bolt middleware: 400 for a payload whose objects are not objects (or whose `actions` are not a
    list of objects)."""
    # null is what Slack sends for an absent one (e.g. `enterprise` outside Enterprise Grid).
    wrong = [name for name in _OBJECTS if not isinstance(body.get(name), dict | None)]
    actions = body.get("actions")
    if actions is not None and not (
        isinstance(actions, list) and all(isinstance(action, dict) for action in actions)
    ):
        wrong.append("actions")
    if wrong:
        log.warning("Malformed Slack request refused", extra={"fields": ",".join(wrong)})
        return BoltResponse(status=400, body="")
    return next()
