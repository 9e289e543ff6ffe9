"""Slack Web API plumbing shared by the handlers and the status updater: clients and error kinds."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.messages import Message
from bot.settings import SlackSettings
from sync_engine import SettingsError, SlackOutcome, slack_request

__all__ = [
    "NO_ACCESS",
    "CountRequests",
    "build_client",
    "error_code",
    "open_dm",
    "post_privately",
    "retry_after",
]

#: Errors that mean "the app cannot post there": fall back to a direct message to the user.
NO_ACCESS = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "cannot_reply_to_message",
        "user_not_in_channel",
        "team_access_not_granted",
        "ekm_access_denied",
        "access_denied",
    }
)
#: Seconds a Web API call may take before we give up on it (handlers must answer within 3 s).
CLIENT_TIMEOUT = 10


class CountRequests(RetryHandler):
    """Counts every Web API request by method and outcome in the metrics; never retries.

    slack_sdk asks its retry handlers about every response, successes included, so the first handler
    of a client sees each HTTP request once, retries included.
    """

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.partition("?")[0].rpartition("/")[2]
        outcome: SlackOutcome = "error"
        if response is not None and response.status_code == 429:
            outcome = "rate_limited"
        elif response is not None and response.status_code == 200 and (response.body or {}).get("ok"):
            outcome = "ok"
        slack_request(method, outcome)
        return False


def build_client(settings: SlackSettings, *, wait_on_rate_limits: bool) -> WebClient:
    """The bot's Web API client for SLACK_API_URL.

    With `wait_on_rate_limits` a 429 is retried after its Retry-After (twice at most): right for the
    request handlers. The status updater passes False and reschedules itself instead of holding a
    worker thread.
    """
    if settings.slack_bot_token is None:
        raise SettingsError("SLACK_BOT_TOKEN is not set: the Slack app needs its bot token (xoxb-…).")
    handlers: list[RetryHandler] = [
        CountRequests(),
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(),
    ]
    if wait_on_rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=CLIENT_TIMEOUT,
        retry_handlers=handlers,
    )


def error_code(error: SlackApiError) -> str:
    """Slack's error string (`not_in_channel`, `ratelimited`, …) of a failed call."""
    try:
        return str(error.response.get("error") or "")
    except AttributeError:
        return ""


def retry_after(error: SlackApiError) -> float | None:
    """Seconds Slack asked us to wait, when the call was rate limited (HTTP 429); else None."""
    response = error.response
    if getattr(response, "status_code", None) != 429 and error_code(error) != "ratelimited":
        return None
    headers = getattr(response, "headers", None) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0


def open_dm(client: WebClient, user_id: str) -> str:
    """The id of the app's direct-message conversation with `user_id`."""
    response = client.conversations_open(users=user_id)
    return str(response["channel"]["id"])


def post_privately(client: WebClient, channel_id: str | None, user_id: str, message: Message) -> str:
    """Show `message` to one user: ephemeral in the channel, else (no access) in a direct message.

    Returns the conversation it went to.
    """
    if channel_id:
        try:
            client.chat_postEphemeral(channel=channel_id, user=user_id, **message.kwargs())
            return channel_id
        except SlackApiError as error:
            if error_code(error) not in NO_ACCESS:
                raise
    dm = open_dm(client, user_id)
    client.chat_postMessage(channel=dm, **message.kwargs())
    return dm
