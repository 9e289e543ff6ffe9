"""HTTP plumbing: a stdlib ThreadingHTTPServer on 127.0.0.1 speaking HTTP/1.1 with three kinds of routes:

    POST|GET /api/<method>      the Web API (form, multipart, query or JSON parameters; token as Bearer)
    POST /upload/<file_id>      the upload URL of files.getUploadURLExternal (raw bytes or multipart)
    POST /response/<token>      response URLs of commands and interactions (JSON)

Every request is recorded in the event log; whatever a client sends, it gets an HTTP answer.
"""

from __future__ import annotations

import json
import logging
import re
import select
import socket
import threading
import time
from collections import Counter
from contextlib import suppress
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from devtools.slack_emulator.methods import FORM_ONLY_METHODS, ApiCall, Reply, dispatch
from devtools.slack_emulator.responses import post_to_response_url
from devtools.slack_emulator.state import ApiError, Workspace
from devtools.slack_emulator.transcript import EventLog, RecordedCall

__all__ = ["EmulatorServer"]

log = logging.getLogger(__name__)

#: Largest request body read; the biggest real one is an upload (our identifier files are a few KB).
MAX_BODY_BYTES = 50 * 1024 * 1024
#: Form fields that carry JSON in a string (slack_sdk sends blocks and views that way).
_JSON_FIELDS = ("blocks", "view", "files", "attachments", "metadata")
_API_PATH = re.compile(r"/api/(?P<method>[A-Za-z.]+)")
_UPLOAD_PATH = re.compile(r"/upload/(?P<file_id>[A-Z0-9]+)")
_RESPONSE_PATH = re.compile(r"/response/(?P<token>[A-Za-z0-9_-]+)")


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, ws: Workspace, events: EventLog) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.ws = ws
        self.events = events
        #: Requests held now by `SlackKnobs.hold_requests`, per method.
        self.held: Counter[str] = Counter()
        self.held_lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SlackEmulator"
    sys_version = ""
    # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms per request.
    disable_nagle_algorithm = True
    server: EmulatorServer

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _answer(self) -> None:
        path, _, query = self.path.partition("?")
        try:
            body = self._read_body()
            if (match := _API_PATH.fullmatch(path)) is not None:
                self._api(match["method"], query, body)
            elif (match := _UPLOAD_PATH.fullmatch(path)) is not None and self.command == "POST":
                self._upload(match["file_id"], body)
            elif (match := _RESPONSE_PATH.fullmatch(path)) is not None and self.command == "POST":
                reply, payload = post_to_response_url(self.server.ws, match["token"], body)
                self._record("response_url", payload, reply)
                self._send_json(reply)
            else:
                self._send(404, "text/plain", b"Not Found")
        except _BodyTooLarge:
            self._send(413, "text/plain", b"Request Entity Too Large", close=True)
        except Exception:
            log.exception("Slack emulator failed on %s %s", self.command, self.path)
            self._send_json(Reply(500, {"ok": False, "error": "fatal_error"}), close=True)

    def _api(self, method: str, query: str, body: bytes) -> None:
        ws = self.server.ws
        if ws.knobs.latency > 0:
            time.sleep(ws.knobs.latency)
        try:
            reads_json = method not in FORM_ONLY_METHODS
            params = _parameters(query, self.headers.get("Content-Type", ""), body, reads_json=reads_json)
        except ApiError as failure:
            reply = Reply(200, {"ok": False, "error": failure.error})
            self._record(method, {}, reply)
            self._send_json(reply)
            return
        if method in ws.knobs.hold_requests and not self._held_until_released(method):
            return
        token = _bearer(self.headers.get("Authorization")) or params.pop("token", None)
        params.pop("token", None)
        call = ApiCall(method, params)
        with ws.lock:  # the transcript shows a call as soon as its effect can be seen
            reply = dispatch(ws, call, token)
            self._record(method, params, reply, call.note)
        delay = ws.knobs.answer_delay.get(method, 0.0)
        if delay > 0:
            time.sleep(delay)
        self._send_json(reply)

    def _held_until_released(self, method: str) -> bool:
        """Wait while `method` is in `hold_requests`; False if the caller went away meanwhile (the request
        never reached Slack: nothing is done or recorded)."""
        server = self.server
        with server.held_lock:
            server.held[method] += 1
        try:
            while method in server.ws.knobs.hold_requests and not self._caller_gone():
                time.sleep(0.05)
            if self._caller_gone():
                log.info("Slack emulator: the caller of a held %s went away; it never arrived", method)
                self.close_connection = True
                return False
            return True
        finally:
            with server.held_lock:
                server.held[method] -= 1

    def _caller_gone(self) -> bool:
        """The client closed its end (or the connection broke) while it waited for an answer."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _upload(self, file_id: str, body: bytes) -> None:
        ws = self.server.ws
        content = _uploaded_bytes(self.headers.get("Content-Type", ""), body)
        with ws.lock:
            upload = ws.files.get(file_id)
            if upload is None or upload.completed:
                reply = Reply(404, {"ok": False, "error": "file_not_found"})
            elif ws.knobs.upload_fails:
                reply = Reply(500, {"ok": False, "error": "upload_failed"})
            else:
                upload.content = content
                reply = Reply(200, {"ok": True})
        self._record("upload", {"file_id": file_id, "bytes": len(content)}, reply)
        text = f"OK - {len(content)}" if reply.status == 200 else reply.body["error"]
        self._send(reply.status, "text/plain; charset=utf-8", text.encode())

    def _record(self, method: str, params: dict[str, Any], reply: Reply, note: str = "") -> None:
        if reply.retry_after is not None:
            note = f"Retry-After: {reply.retry_after}"
        events = self.server.events
        call = RecordedCall(
            method=method,
            params=params,
            ok=bool(reply.body.get("ok")),
            error=reply.body.get("error"),
            status=reply.status,
            at=events.now(),
            response=reply.body,
            note=note,
        )
        events.add(call)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise _BodyTooLarge
        return self.rfile.read(length) if length > 0 else b""

    def _send_json(self, reply: Reply, *, close: bool = False) -> None:
        headers = {"Retry-After": str(reply.retry_after)} if reply.retry_after is not None else {}
        body = json.dumps(reply.body).encode()
        self._send(reply.status, "application/json; charset=utf-8", body, headers=headers, close=close)

    def _send(
        self,
        status: int,
        content_type: str,
        body: bytes,
        *,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            # The client is gone (it may have timed out first); nothing to tell it.
            self.close_connection = True


class _BodyTooLarge(Exception):
    pass


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def _parameters(query: str, content_type: str, body: bytes, *, reads_json: bool) -> dict[str, Any]:
    """A call's parameters from the query string and the body, as Slack reads them."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        # A method without JSON input sees none of a JSON body's arguments.
        if reads_json:
            params.update(_json_arguments(body))
    elif kind == "multipart/form-data":
        params.update(
            {name: value.decode("utf-8", "replace") for name, _, value in _multipart(content_type, body)}
        )
    else:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    for name in _JSON_FIELDS:
        if isinstance(params.get(name), str):
            # A field that is no JSON stays a string; the method answers for it (e.g. invalid_blocks_format).
            with suppress(ValueError):
                params[name] = json.loads(params[name])
    return params


def _json_arguments(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise ApiError("invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError("json_not_object")
    # Slack takes the token of a JSON call from the Authorization header only.
    data.pop("token", None)
    return data


def _uploaded_bytes(content_type: str, body: bytes) -> bytes:
    """The file of an upload: the raw body (slack_sdk), or the file part of a multipart form (curl -F)."""
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        return body
    parts = _multipart(content_type, body)
    return next(
        (value for _, filename, value in parts if filename is not None), parts[0][2] if parts else b""
    )


def _multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """(name, filename, bytes) of each part of a multipart/form-data body."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts: list[tuple[str, str | None, bytes]] = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        name = part.get_param("name", header="content-disposition")
        parts.append((str(name or ""), part.get_filename(), payload if isinstance(payload, bytes) else b""))
    return parts
