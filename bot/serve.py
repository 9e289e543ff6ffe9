"""`workday-resync serve`: the Slack app with the engine behind it, in Socket Mode or HTTP mode.

Socket Mode (SLACK_APP_TOKEN set, no `--http`): the app opens a WebSocket to Slack; no public URL.
HTTP mode (`--http --port N`): Slack sends commands and interactions to POST /slack/events (signature
verified); GET /healthz answers 200 (liveness), GET /readyz 200 when the store and Redis answer, else
503 (readiness), GET /metrics serves Prometheus metrics (in Socket Mode, on METRICS_PORT). Without
REDIS_URL the embedded worker runs jobs and Slack status updates in this process; with it,
`workday-resync worker` processes do.
"""

from __future__ import annotations

import gc
import logging
import signal
from contextlib import nullcontext
from types import FrameType

from bot.app import build_app
from bot.http_server import HttpLimits, SlackHttpServer
from bot.settings import AppSettings
from bot.slack_check import checked_slack
from bot.status.actor import send_update
from bot.status.catch_up import catch_up
from sync_engine import (
    ReadinessCheck,
    SettingsError,
    configure_logging,
    open_engine,
    serve_metrics,
)

__all__ = ["freeze_startup_heap", "serve"]

log = logging.getLogger(__name__)


def _stop_on_sigterm() -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def freeze_startup_heap() -> None:
    """Take what start-up built (modules, settings, the app, the engine) out of the cycle collector's
    passes: it lives as long as the process, and a full pass walked all of it holding the GIL, stalling
    every ack in flight (80 ms measured in the benchmark's Slack process, ~150,000 objects). Garbage is
    collected first, so that only what lives is frozen; `gc.unfreeze()` gives it back."""
    gc.collect()
    gc.freeze()


def serve(settings: AppSettings, *, http: bool, host: str, port: int) -> None:
    """Run until interrupted (Ctrl-C or SIGTERM), then stop the worker and close the store."""
    socket_mode = not http
    if socket_mode and settings.slack_app_token is None:
        raise SettingsError(
            "SLACK_APP_TOKEN is not set: set it (xapp-…, with connections:write) for Socket Mode, "
            "or pass --http --port N to receive Slack's requests over HTTP."
        )
    if settings.slack_bot_token is None:
        raise SettingsError("SLACK_BOT_TOKEN is not set: the Slack app needs its bot token (xoxb-…).")
    if http and settings.slack_signing_secret is None:
        raise SettingsError("SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it.")
    configure_logging()
    # slack_sdk logs request headers (the bot token) at DEBUG: never let that through.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLogger().level))
    _stop_on_sigterm()
    # No HTTP server of its own in Socket Mode: Prometheus (and a liveness probe) use this one. Bound
    # first: a port already taken stops `serve` with one line, before it touches the store.
    metrics = serve_metrics(settings) if socket_mode else nullcontext()
    # Slack is checked once the port is ours, before the store is touched.
    slack = checked_slack(settings, socket_mode=socket_mode)
    with metrics, slack, open_engine(settings, work=True, resume_all=True) as (service, rt):
        if settings.redis_url is None:
            catch_up(service, send_update)  # the updates queued in a previous process's memory died with it
        app = build_app(settings, service, socket_mode=socket_mode)
        freeze_startup_heap()
        try:
            if socket_mode:
                from slack_bolt.adapter.socket_mode import SocketModeHandler

                assert settings.slack_app_token is not None
                log.info(
                    "Serving Slack in Socket Mode",
                    extra={"metrics": f"http://{settings.metrics_host}:{settings.metrics_port}/metrics"},
                )
                handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
                handler.start()  # type: ignore[no-untyped-call]
            else:
                limits = HttpLimits.of(settings)
                readiness = ReadinessCheck.of(rt)
                server = SlackHttpServer(app, host, port, limits=limits, readiness=readiness)
                log.info(
                    "Serving Slack over HTTP",
                    extra={
                        "url": server.url,
                        "health": "/healthz",
                        "ready": "/readyz",
                        "metrics": "/metrics",
                        "idle_timeout": limits.idle_timeout,
                        "max_connections": server.max_connections,
                    },
                )
                try:
                    server.serve_forever()  # returns on SIGTERM or Ctrl-C
                    log.info("Stopping")
                finally:
                    server.close()
                    readiness.close()
        except KeyboardInterrupt:
            log.info("Stopping")
        finally:
            gc.unfreeze()  # collectable again once serving ends (tests run `serve` in their process)
