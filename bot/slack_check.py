"""Before `serve` starts: does Slack's Web API answer, and does it take our tokens? One line if not.

A fake or revoked token, or a host that cannot reach SLACK_API_URL (DNS, proxy, firewall), otherwise
ends deep inside Bolt or the Socket Mode client, in a traceback after retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import SlackSettings
from sync_engine import SetupError

__all__ = ["check_slack", "checked_slack"]

#: Seconds each check may take.
CHECK_TIMEOUT = 10

# The checks' own client logs nothing: slack_sdk logs a failed request at ERROR before raising it,
# and the one line this module raises says it all.
_silent = logging.getLogger(f"{__name__}.client")
_silent.addHandler(logging.NullHandler())
_silent.propagate = False

#: What to do about a token Slack refuses, per token.
_WHERE = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-…) under OAuth & Permissions; reinstall the app if "
    "it was revoked",
    "SLACK_APP_TOKEN": "an app-level token (xapp-…) with connections:write under Basic Information → "
    "App-Level Tokens",
}


#: Slack's answers that mean "this token is not one we take" (docs.slack.dev/authentication).
TOKEN_REFUSED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "not_allowed_token_type",
    }
)


def check_slack(settings: SlackSettings, *, socket_mode: bool) -> None:
    """`SetupError` naming the setting unless Slack accepts the bot token (auth.test) and, for Socket
    Mode, the app-level token (apps.connections.open: the URL it gives is left unused and expires)."""
    assert settings.slack_bot_token is not None
    _call("SLACK_BOT_TOKEN", settings, settings.slack_bot_token.get_secret_value(), "auth.test")
    if socket_mode:
        assert settings.slack_app_token is not None
        _call(
            "SLACK_APP_TOKEN", settings, settings.slack_app_token.get_secret_value(), "apps.connections.open"
        )


@contextmanager
def checked_slack(settings: SlackSettings, *, socket_mode: bool) -> Iterator[None]:
    """`check_slack` on entering the block (to order it among `serve`'s other start-up steps)."""
    check_slack(settings, socket_mode=socket_mode)
    yield


def _call(setting: str, settings: SlackSettings, token: str, method: str) -> None:
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=CHECK_TIMEOUT, logger=_silent)
    try:
        client.api_call(method)
    except SlackApiError as error:
        code = str(error.response.get("error", "an error"))
        if setting == "SLACK_APP_TOKEN" and code not in TOKEN_REFUSED:
            return  # not about the token (e.g. rate limited): the Socket Mode client deals with it
        raise SetupError(f"Slack refused {setting} ({code}): set it to {_WHERE[setting]}.") from error
    except (URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SetupError(
            f"Slack's Web API cannot be reached at {settings.slack_api_url} (SLACK_API_URL): {reason}. "
            "Check this host's DNS, network and proxy, or SLACK_API_URL."
        ) from error
