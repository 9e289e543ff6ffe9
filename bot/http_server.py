"""Slack's HTTP mode: POST /slack/events into the Bolt app, GET /healthz for load balancers, and
GET /metrics for Prometheus (`sync_engine.metrics`).

Bolt verifies each request's signature against the raw body (bad or older than five minutes → 401),
so the body is passed on exactly as received. A threading server: Bolt answers as soon as a listener
acknowledges, and a slow listener must not hold up the next request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from slack_bolt import App, BoltRequest

from sync_engine import metrics
from sync_engine.serving import ServerThread

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "METRICS_PATH", "SlackHttpServer"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
#: Slack's payloads are a few kilobytes; anything far larger is not from Slack.
MAX_BODY_BYTES = 1_000_000


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        if path == HEALTH_PATH:
            self._send(200, json.dumps({"ok": True}), {"Content-Type": ["application/json"]})
        elif path == METRICS_PATH:
            self._send(200, metrics.exposition().decode(), {"Content-Type": [metrics.CONTENT_TYPE_LATEST]})
        else:
            self._send(404, "", {})

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        if path != EVENTS_PATH:
            self._send(404, "", {})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True
            self._send(413 if length > 0 else 400, "", {})
            return
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        headers: dict[str, str | Sequence[str]] = {
            name.lower(): value for name, value in self.headers.items()
        }
        try:
            response = self.server.app.dispatch(BoltRequest(body=body, query=query, headers=headers))
        except Exception as error:
            # Bolt could not even read the request (a `payload` that is not JSON, a view without a
            # type): nothing Slack sends. Answered, never a dropped connection or a traceback.
            log.warning("Unreadable Slack request refused", extra={"error": type(error).__name__})
            self._send(400, "", {})
            return
        self._send(response.status, response.body, response.headers)

    def _send(self, status: int, body: str, headers: dict[str, Any]) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        for name, values in headers.items():
            if name.lower() == "content-length":
                continue
            for value in values if isinstance(values, list | tuple) else [values]:
                self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("HTTP %s", format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections of a burst (20 at once), whose SYN is resent after 1 s.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app


class SlackHttpServer:
    """`with SlackHttpServer(app, host, port) as server:` serves in a thread; `serve_forever` blocks."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), app)
        self._serving = ServerThread(self._server, "slack-http", poll_interval=0.2)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{self.port}{EVENTS_PATH}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> SlackHttpServer:
        self._serving.start()
        return self

    def close(self) -> None:
        self._serving.stop()

    def __enter__(self) -> SlackHttpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
