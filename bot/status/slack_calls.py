"""One Web API call of the status pipeline, its failures sorted by what the caller does about them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.web_api import error_code, retry_after

__all__ = ["TRANSIENT", "RateLimited", "TransientSlackError", "call"]

#: Slack errors worth trying again later (Dramatiq retries the message).
TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


class RateLimited(Exception):
    """Slack answered 429: no call until its Retry-After (`seconds`)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited for {seconds} s")
        self.seconds = seconds


class TransientSlackError(Exception):
    """Slack failed in a way worth retrying (5xx-like errors); the actor's retries handle it."""


def call(method: Callable[..., Any], **kwargs: Any) -> Any:
    """One Web API call: 429 → `RateLimited`, 5xx-like → `TransientSlackError`, others raise as is."""
    try:
        return method(**kwargs)
    except SlackApiError as error:
        seconds = retry_after(error)
        if seconds is not None:
            raise RateLimited(seconds) from error
        if error_code(error) in TRANSIENT:
            raise TransientSlackError(error_code(error)) from error
        raise
