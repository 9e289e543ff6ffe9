"""The Slack app's HTTP endpoints as one WSGI application: POST /slack/events into the Bolt app (Bolt's
WSGI adapter), GET /healthz (liveness: the process serves) and GET /readyz (readiness: the store and Redis
answer too, `sync_engine.readiness`) for load balancers, GET /metrics for Prometheus (`sync_engine.metrics`).

Bolt verifies each request's signature against the raw body (`bot.verification`), so the adapter passes
the body on exactly as received.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from sync_engine import Readiness, metrics_exposition

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "METRICS_PATH", "READY_PATH", "SlackWsgi"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
_HEALTHY = json.dumps({"ok": True}).encode()


class SlackWsgi:
    """The WSGI application `bot.http_server` serves."""

    def __init__(self, app: App, readiness: Callable[[], Readiness] | None = None) -> None:
        self._slack = SlackRequestHandler(app, path=EVENTS_PATH)
        self._readiness = readiness

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET":
            path = environ.get("PATH_INFO", "")
            if path == HEALTH_PATH:
                return _answer(start_response, "200 OK", _HEALTHY, "application/json")
            if path == READY_PATH and self._readiness is not None:
                ready = self._readiness()
                status = "200 OK" if ready.ok else "503 Service Unavailable"
                return _answer(start_response, status, ready.body(), "application/json")
            if path == METRICS_PATH:
                return _answer(start_response, "200 OK", metrics_exposition(), CONTENT_TYPE_LATEST)
        try:
            return self._slack(environ, start_response)
        except Exception as error:
            # Bolt could not even read the request (a body that is not UTF-8, a `payload` that is not
            # JSON): nothing Slack sends. One line, no traceback, nothing of the request.
            log.warning("Unreadable Slack request refused", extra={"error": type(error).__name__})
            return _answer(start_response, "400 Bad Request", b"", "text/plain")


def _answer(start_response: StartResponse, status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
