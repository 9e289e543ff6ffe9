"""Slack's HTTP mode served by waitress (`bot.wsgi` is the application).

Why waitress: it runs in this process (the embedded worker of `serve` and the tests' in-process app
keep working), and its one event loop reads every request itself, handing only complete requests to its
thread pool: a connection that is idle or trickles bytes holds a descriptor, never a thread, and is
closed after SLACK_HTTP_IDLE_TIMEOUT seconds without activity. At most SLACK_HTTP_MAX_CONNECTIONS are
open at once (later ones wait in the listen backlog, SLACK_HTTP_BACKLOG); the loop polls with poll(2),
not select(2), so descriptors above 1,024 work. Bodies over MAX_BODY_BYTES are refused (413) from
their Content-Length before they are read.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from slack_bolt import App
from waitress.server import TcpWSGIServer
from waitress.wasyncore import close_all

from bot.settings import SlackSettings
from bot.wsgi import EVENTS_PATH, SlackWsgi
from sync_engine import Readiness, SettingsError

__all__ = ["MAX_BODY_BYTES", "HttpLimits", "SlackHttpServer"]

log = logging.getLogger(__name__)

#: Slack's payloads are a few kilobytes; anything far larger is not from Slack.
MAX_BODY_BYTES = 1_000_000
#: Descriptors kept for everything but client connections: the store's and Redis's pools, Slack's and
#: Workday's clients, log files, the listening socket.
RESERVED_DESCRIPTORS = 256
#: The loop's own sockets counted in waitress's connection limit: the listening socket and its wake-up pipe.
_LOOP_SOCKETS = 2


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """The server's limits (SLACK_HTTP_* settings)."""

    idle_timeout: int
    max_connections: int
    backlog: int
    threads: int

    @classmethod
    def of(cls, settings: SlackSettings) -> HttpLimits:
        return cls(
            idle_timeout=settings.slack_http_idle_timeout,
            max_connections=settings.slack_http_max_connections,
            backlog=settings.slack_http_backlog,
            threads=settings.slack_http_threads,
        )


#: The settings' defaults (read without the environment).
DEFAULT_LIMITS = HttpLimits.of(SlackSettings.model_construct())


class SlackHttpServer:
    """`with SlackHttpServer(app, host, port) as server:` serves in a thread; `serve_forever` blocks."""

    def __init__(
        self,
        app: App,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: HttpLimits = DEFAULT_LIMITS,
        readiness: Callable[[], Readiness] | None = None,
    ) -> None:
        #: Client connections held at once at most.
        self.max_connections = fit_descriptor_limit(limits.max_connections)
        try:
            self._server = TcpWSGIServer(
                SlackWsgi(app, readiness),
                host=host,
                port=port,
                threads=limits.threads,
                connection_limit=self.max_connections + _LOOP_SOCKETS,
                backlog=limits.backlog,
                channel_timeout=limits.idle_timeout,
                # How often idle connections are looked for: a connection lives at most this much longer.
                cleanup_interval=max(1, min(10, limits.idle_timeout // 4)),
                asyncore_use_poll=True,
                max_request_body_size=MAX_BODY_BYTES + 1,
                # A client that hangs up is not our error: no traceback per dropped connection.
                log_socket_errors=False,
                ident="workday-resync",
            )
        except OSError as error:
            raise SettingsError(
                f"{host}:{port} is not available for --http ({error.strerror}): pick another --port."
            ) from None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        host = str(self._server.effective_host)
        return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{self.port}{EVENTS_PATH}"

    def serve_forever(self) -> None:
        """Serve until the loop is stopped (`close` from another thread, or Ctrl-C / SIGTERM)."""
        # waitress's `run` ends quietly on KeyboardInterrupt (and stops its threads).
        self._server.run()

    def start(self) -> SlackHttpServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, name="slack-http", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving: let the request threads end their requests, then close every connection and the
        listening socket (a thread ending a request wakes the loop: closed first, that wake-up failed)."""
        self._server.task_dispatcher.shutdown(timeout=5)
        if self._thread is not None:
            # Closed on the loop's own thread (the loop ends when it has nothing left to watch).
            with contextlib.suppress(OSError):
                # The loop, woken by a response, may run the thunk and close the trigger before the
                # wake-up byte is written: the write then fails, the work is done.
                self._server.trigger.pull_trigger(lambda: close_all(self._server._map))
            self._thread.join(timeout=10)
            self._thread = None
        else:
            close_all(self._server._map)

    def __enter__(self) -> SlackHttpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def fit_descriptor_limit(connections: int) -> int:
    """The connections this process can hold: raises its soft RLIMIT_NOFILE towards the hard limit to fit
    `connections` plus RESERVED_DESCRIPTORS; where the hard limit is lower, fewer connections (and a
    warning), so that accept() never fails for want of a descriptor (it would spin)."""
    needed = connections + RESERVED_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return connections
    fitted = max(soft - RESERVED_DESCRIPTORS, 1)
    log.warning(
        "Fewer Slack HTTP connections than SLACK_HTTP_MAX_CONNECTIONS: raise the open-files limit "
        "(LimitNOFILE)",
        extra={"max_connections": fitted, "asked": connections, "open_files_limit": soft},
    )
    return fitted
