"""The sandbox's HTTP server and its public face: `Sandbox` (in-process, for tests, the demo and benchmarks)
and `serve()` (the `workday-resync sandbox` command).

A stdlib `ThreadingHTTPServer` on 127.0.0.1 speaking HTTP/1.1 with keep-alive, one daemon thread per
connection. Whatever a client sends, it gets an HTTP answer, never a traceback, and the server keeps serving.
"""

from __future__ import annotations

import io
import logging
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any

from pydantic import SecretStr

from sync_engine.server_thread import ServerThread
from sync_engine.settings import WorkdaySettings
from sync_engine.workday.sandbox.arrivals import TimestampedReader, stamp_arrivals
from sync_engine.workday.sandbox.auth import TokenStore, sandbox_credentials
from sync_engine.workday.sandbox.data import SandboxData
from sync_engine.workday.sandbox.faults import SandboxKnobs
from sync_engine.workday.sandbox.replies import HTML_CONTENT_TYPE, Reply
from sync_engine.workday.sandbox.service import SandboxService
from sync_engine.workday.sandbox.stats import RequestLogEntry, SandboxStats

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_TENANT",
    "MAX_BODY_BYTES",
    "Sandbox",
    "customer_listing",
    "generate_data",
    "serve",
]

log = logging.getLogger(__name__)

DEFAULT_TENANT = "acme_tenant"
DEFAULT_API_VERSION = "v45.2"
#: Largest request body read, in bytes; a larger one gets 413 and the connection is closed unread.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: Seconds an idle keep-alive connection stays open.
IDLE_TIMEOUT = 120.0

_TENANT = re.compile(r"[A-Za-z0-9_.-]+")
_TOKEN_PATH = re.compile(r"/ccx/oauth2/(?P<tenant>[^/]+)/token")
_SOAP_PATH = re.compile(r"/ccx/service/(?P<tenant>[^/]+)/(?P<service>[^/]+)/(?P<version>[^/]+)")
_INVOICES_PATH = re.compile(r"/ccx/api/customerAccounts/v1/(?P<tenant>[^/]+)/invoices")
_CONTENT_LENGTH = re.compile(r"[0-9]{1,15}")


def _html(status: int, text: str, *, close: bool = False, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    body = f"<html><body>{text}</body></html>".encode()
    return Reply(status, HTML_CONTENT_TYPE, body, "unknown", "fault", headers=headers, close=close)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    #: Set right after binding, once the port (and so the base URL) is known.
    service: SandboxService

    def __init__(self, address: tuple[str, int], stats: SandboxStats) -> None:
        super().__init__(address, _Handler)
        self.stats = stats
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def server_bind(self) -> None:
        super().server_bind()
        # Holds the kernel's receive stamps on from before the first request (`arrivals`).
        stamp_arrivals(self.socket)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Wake every handler blocked on an idle keep-alive connection, so its thread ends."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "WorkdaySandbox"
    sys_version = ""
    # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms per request.
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)
        # Read through the kernel's receive timestamps: a request counts from when it arrived (`arrivals`).
        self._arrivals = TimestampedReader(self.connection)
        self.rfile = io.BufferedReader(self._arrivals)
        self.arrived = time.monotonic()

    def parse_request(self) -> bool:
        # The request line and headers are in: when their last bytes reached the host.
        self.arrived = self._arrivals.last_received
        return super().parse_request()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _answer(self, method: str) -> None:
        try:
            reply = self._reply(method)
        except Exception:
            log.exception("Workday sandbox failed on %s %s", method, self.path)
            reply = _html(500, "500 Internal Server Error", close=True)
        # Logged before it is sent: a client holding its answer finds the request in the log.
        entry = RequestLogEntry(
            reply.operation, reply.outcome, reply.detail, reply.references, reply.priced_seconds
        )
        self.server.stats.record(entry)
        self._send(reply)

    def _reply(self, method: str) -> Reply:
        body = self._read_body()
        if isinstance(body, Reply):
            return body
        path, _, query = self.path.partition("?")
        service = self.server.service
        authorization = self.headers.get("Authorization")
        if (match := _TOKEN_PATH.fullmatch(path)) and match["tenant"] == service.tenant:
            if method != "POST":
                return _html(405, "405 Method Not Allowed", headers=(("Allow", "POST"),))
            return service.token(authorization, body)
        if (match := _SOAP_PATH.fullmatch(path)) and match["tenant"] == service.tenant:
            if method != "POST":
                return _html(405, "405 Method Not Allowed", headers=(("Allow", "POST"),))
            with self._in_flight():
                return service.soap(match["service"], match["version"], authorization, body, self.arrived)
        if (match := _INVOICES_PATH.fullmatch(path)) and match["tenant"] == service.tenant:
            if method != "GET":
                return _html(405, "405 Method Not Allowed", headers=(("Allow", "GET"),))
            with self._in_flight():
                return service.invoices(query, authorization, self.arrived)
        # A tenant this host does not serve. Workday's token endpoint answers 503 Service Unavailable
        # (Salesforce's RaaS-for-Workday guide: "503: Service Unavailable Invalid Tenant Name") and its
        # SOAP services HTTP 500 without a SOAP fault ("a host/tenant mismatch gives HTTP 500, not an auth
        # error": workday.md §2.1); anything else, an HTML 404.
        if _TOKEN_PATH.fullmatch(path):
            return _html(503, "503 Service Unavailable")
        if _SOAP_PATH.fullmatch(path):
            return _html(500, "500 Internal Server Error")
        return _html(404, "Not Found")

    def _read_body(self) -> bytes | Reply:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _html(411, "411 Length Required", close=True)
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        if not _CONTENT_LENGTH.fullmatch(raw.strip()):
            return _html(400, "400 Bad Request", close=True)
        length = int(raw)
        if length > MAX_BODY_BYTES:
            return _html(413, "413 Request Entity Too Large", close=True)
        return self.rfile.read(length)

    @contextmanager
    def _in_flight(self) -> Iterator[None]:
        self.server.stats.started()
        try:
            yield
        finally:
            self.server.stats.finished()

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.close:
                self.send_header("Connection", "close")
            self.end_headers()
            if reply.cut_at is not None:
                # Broken off: the client reads a body shorter than its Content-Length, then the end.
                self.wfile.write(reply.body[: reply.cut_at])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(reply.body)
        except OSError:
            # The client is gone (it may have timed out first); nothing to tell it.
            self.close_connection = True


class Sandbox:
    """A Workday tenant on 127.0.0.1, serving `data` until closed.

    >>> with Sandbox(SandboxData.generate(customers=30, seed=7)) as sandbox:
    ...     settings = sandbox.workday_settings()
    """

    def __init__(
        self,
        data: SandboxData | None = None,
        *,
        port: int = 0,
        tenant: str = DEFAULT_TENANT,
        knobs: SandboxKnobs | None = None,
    ) -> None:
        if not _TENANT.fullmatch(tenant):
            raise ValueError(f"invalid tenant name {tenant!r}")
        #: The tenant's data; mutate it between (or during) runs.
        self.data = data if data is not None else SandboxData.generate()
        #: Live knobs: latency, throttling, faults, token behaviour.
        self.knobs = knobs if knobs is not None else SandboxKnobs()
        self.stats = SandboxStats()
        self.tenant = tenant
        self._tokens = TokenStore(*sandbox_credentials(tenant, self.data.seed))
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), self.stats)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._server.service = SandboxService(
            data=self.data,
            knobs=self.knobs,
            tokens=self._tokens,
            tenant=tenant,
            base_url=self.base_url,
            stopping=self._stopping,
        )
        self._serving = ServerThread(self._server, f"workday-sandbox {self.base_url}")
        self._closed = False

    @property
    def client_id(self) -> str:
        return self._tokens.client_id

    @property
    def client_secret(self) -> str:
        return self._tokens.client_secret

    @property
    def refresh_token(self) -> str:
        """The newest valid refresh token (it changes when `knobs.rotate_refresh_tokens` is on)."""
        return self._tokens.refresh_token

    @property
    def max_in_flight_seen(self) -> int:
        """Most API requests in flight at once since the start (or `stats.reset()`)."""
        return self.stats.max_in_flight

    def start(self) -> Sandbox:
        self._serving.start()
        return self

    def close(self) -> None:
        """Stop serving: pending pauses end at once, open connections are shut."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._serving.stop()
        self._server.close_connections()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def workday_settings(self, **overrides: Any) -> WorkdaySettings:
        """Settings for our client against this sandbox (v45.2, Customer_ID, 4 in flight, 5 req/s, 120 s, no
        as-of lag); `overrides` replace any field (plain strings are accepted for the secrets)."""
        settings = WorkdaySettings(
            base_url=self.base_url,
            tenant=self.tenant,
            client_id=self.client_id,
            client_secret=SecretStr(self.client_secret),
            refresh_token=SecretStr(self.refresh_token),
            api_version=DEFAULT_API_VERSION,
            reference_id_type="Customer_ID",
            max_in_flight=4,
            rate_limit=5.0,
            timeout=120.0,
            # The sandbox shares our clock: no skew to allow for; a test sees what it entered a moment ago.
            as_of_lag=0.0,
        )
        for secret in ("client_secret", "refresh_token"):
            if isinstance(overrides.get(secret), str):
                overrides[secret] = SecretStr(overrides[secret])
        return replace(settings, **overrides)

    def workday_env(self) -> dict[str, str]:
        """The WORKDAY_* environment variables that configure our service for this sandbox."""
        return {
            "WORKDAY_BASE_URL": self.base_url,
            "WORKDAY_TENANT": self.tenant,
            "WORKDAY_CLIENT_ID": self.client_id,
            "WORKDAY_CLIENT_SECRET": self.client_secret,
            "WORKDAY_REFRESH_TOKEN": self.refresh_token,
            "WORKDAY_API_VERSION": DEFAULT_API_VERSION,
            "WORKDAY_AS_OF_LAG": "0",
        }


def serve(
    port: int,
    customers: int,
    seed: int,
    latency: float,
    *,
    knobs: SandboxKnobs | None = None,
    payers: int = 0,
) -> None:
    """Run a sandbox until Ctrl-C or SIGTERM; print its WORKDAY_* lines on stdout (`.env`-ready).
    `knobs` (default: all off) start as given; `latency` overrides theirs. `payers`: that many customers
    pay for two others each (`SandboxData.shape_payers`)."""
    knobs = replace(knobs or SandboxKnobs(), latency=latency)
    data = generate_data(customers, seed, payers)
    with Sandbox(data, port=port, knobs=knobs) as sandbox:
        for name, value in sandbox.workday_env().items():
            print(f"{name}={value}")
        sys.stdout.flush()
        print(
            f"Workday sandbox: tenant {sandbox.tenant} at {sandbox.base_url}, {customers} customers "
            f"(seed {seed}), latency {latency:g} s. Ctrl-C stops it.",
            file=sys.stderr,
        )
        # SIGTERM stops it the way Ctrl-C does (signals can only be handled on the main thread).
        on_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _interrupt) if on_main_thread else None
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            if on_main_thread:
                signal.signal(signal.SIGTERM, previous)


def generate_data(customers: int, seed: int, payers: int = 0) -> SandboxData:
    """The data set `workday-resync sandbox` serves: the same for the same three numbers."""
    data = SandboxData.generate(customers=customers, seed=seed)
    if payers:
        data.shape_payers(payers)
    return data


def customer_listing(data: SandboxData) -> list[str]:
    """One line per customer, in seed order, for `sandbox --list`: the identifiers an admin pastes (the
    reference, i.e. Customer_ID, and the Workday ID) and what a sync of it should count."""
    lines = [f"{'REFERENCE':<10}  {'WORKDAY ID (WID)':<32}  INVOICES  PAYMENTS  CREDIT NOTES  NAME"]
    for customer in data.customers:
        invoices, payments, credit_notes = data.counts(customer.wid)
        lines.append(
            f"{customer.customer_id or '-':<10}  {customer.wid:<32}  {invoices:>8}  {payments:>8}  "
            f"{credit_notes:>12}  {customer.name}"
        )
    return lines


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
