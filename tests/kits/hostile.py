"""Helpers of the hostile-input and security tests: a wire recorder, store counts, signed posts."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import func, select

from devtools.slack_emulator import SlackUser
from sync_engine.server_thread import ServerThread
from sync_engine.store.database import Database
from sync_engine.store.models import BatchRunRow, RunItemRow

#: What the `app_errors` fixture gives: the errors and tracebacks logged so far in the test.
LoggedErrors = Callable[[], list[logging.LogRecord]]


class _Forward(BaseHTTPRequestHandler):
    server: _RecorderServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.recorder.record(self.command, self.path, body)
        target = urlsplit(self.server.recorder.target)
        connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        connection.request(self.command, self.path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _RecorderServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, recorder: WireRecorder) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.recorder = recorder


class WireRecorder:
    """A proxy in front of the Workday sandbox: `requests` holds (method, path, body bytes) as sent."""

    def __init__(self) -> None:
        self.target = ""
        self.requests: list[tuple[str, str, bytes]] = []
        self._lock = threading.Lock()
        self._server = _RecorderServer(self)
        self._thread = ServerThread(self._server, "wire-recorder")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def record(self, method: str, path: str, body: bytes) -> None:
        with self._lock:
            self.requests.append((method, path, body))

    def soap_bodies(self, operation: str) -> list[bytes]:
        with self._lock:
            return [
                body for _, path, body in self.requests if b"_Request" in body and operation.encode() in body
            ]

    def __enter__(self) -> WireRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.stop()


def store_counts(database: Database) -> tuple[int, int]:
    """(runs, run items) in the store, drafts included."""
    with database.session() as session:
        runs = session.scalar(select(func.count()).select_from(BatchRunRow)) or 0
        items = session.scalar(select(func.count()).select_from(RunItemRow)) or 0
    return int(runs), int(items)


def post_signed(
    user: SlackUser, payload: dict[str, Any] | None = None, form: bytes | None = None
) -> tuple[int, str]:
    """POST a body signed as Slack signs it (bypassing the emulated Slack client's own checks)."""
    body = form if form is not None else urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **user.sign(body)}
    request = urllib.request.Request(user.app_url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()
