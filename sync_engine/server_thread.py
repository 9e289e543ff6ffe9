"""A stdlib HTTP server on a daemon thread: the Workday sandbox, the Slack emulator and tests use it."""

from __future__ import annotations

import threading
from socketserver import BaseServer

__all__ = ["ServerThread"]


class ServerThread:
    """Runs `server.serve_forever` on a daemon thread; `start` is idempotent, `stop` shuts down and closes."""

    def __init__(self, server: BaseServer, name: str, *, poll_interval: float = 0.05) -> None:
        self._server = server
        self._name = name
        self._poll_interval = poll_interval
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": self._poll_interval},
                name=self._name,
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop serving (waits for the loop to end) and close the listening socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()
