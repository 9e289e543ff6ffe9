"""The Bolt app: its Web API client (SLACK_API_URL, 429s retried), listeners and error handler."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_bolt.logger import get_bolt_logger
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient

from bot.admins import ADMIN_CACHE_SECONDS, AdminCheck
from bot.forms import RequestForms
from bot.guards import require_user, well_formed
from bot.handlers import Deps, register
from bot.handlers.after_ack import AfterAck, log_failure
from bot.opened_views import MemoryOpenedViews, RedisOpenedViews
from bot.replay import MemorySeen, RedisSeen, replay_guard
from bot.settings import AppSettings
from bot.verification import signed_by_slack
from bot.web_api import CountRequests, build_client
from sync_engine import RunService, SettingsError, shared_redis

__all__ = ["build_app"]

#: Listeners' work after their acks running at once (each mostly waits on Slack's Web API or the store).
LISTENER_THREADS = 64
#: Seconds a Redis call of the replay guard (or the opened-views check) may take.
REDIS_TIMEOUT = 1.0


class _ClientCarriesTheToken(logging.Filter):
    """Drops Bolt's "As you gave `client` as well, `token` will be unused": Bolt reads SLACK_BOT_TOKEN
    from the environment itself, and our client carries that very token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


get_bolt_logger(App).addFilter(_ClientCarriesTheToken())


def build_app(
    settings: AppSettings,
    service: RunService,
    *,
    socket_mode: bool = False,
    client: WebClient | None = None,
    admin_cache_seconds: float = ADMIN_CACHE_SECONDS,
) -> App:
    """A single-workspace Bolt app on the run service.

    In HTTP mode every request's signature is verified with SLACK_SIGNING_SECRET (required) and a
    signature is accepted once (`bot.replay`); Socket Mode requests come over the app's own
    authenticated WebSocket and carry none.
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
        # Bolt's own check logs the raw body of every request that fails it: ours logs one line, no body.
        request_verification_enabled=False,
        before_authorize=signed_by_slack(secret.get_secret_value()) if secret and not socket_mode else None,
        # Each listener answers in the request's thread and leaves its work to `AfterAck`: the answer
        # waits for nothing else (`bot.handlers.after_ack`).
        process_before_response=True,
    )
    # Checked before the ack: a hung Redis must cost a second at most (the request is refused with 503).
    shared = shared_redis(settings, timeout=REDIS_TIMEOUT)
    # Socket Mode has no signing secret: the bot token is the secret the app holds there.
    form_secret = secret or settings.slack_bot_token
    deps = Deps(
        service=service,
        is_admin=AdminCheck(
            _admin_client(client),
            settings.resync_admin_user_ids,
            ttl=admin_cache_seconds,
            usergroup=settings.resync_admin_usergroup,
        ),
        settings=settings,
        connection=service.connection(settings),
        after_ack=AfterAck(LISTENER_THREADS),
        forms=RequestForms(
            form_secret.get_secret_value(),
            RedisOpenedViews(shared) if shared is not None else MemoryOpenedViews(),
            reason_required=settings.resync_require_reason,
        ),
    )
    if not socket_mode:
        app.use(replay_guard(RedisSeen(shared) if shared is not None else MemorySeen()))
    app.use(well_formed)
    app.use(require_user)
    register(app, deps)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log_failure(error, body)

    return app


#: Seconds a users.info call of the admin check may take (it runs inside Slack's 3-second budget).
ADMIN_CHECK_TIMEOUT = 2


def _admin_client(client: WebClient) -> WebClient:
    """The admin check's own client: it runs before the modal submission's ack and before views.open,
    so it must never wait out a Retry-After or retry; no answer in time counts as "not an admin" (and is
    not cached). `CountRequests` only counts its requests in the metrics."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=ADMIN_CHECK_TIMEOUT,
        retry_handlers=[CountRequests()],
    )
