"""A Bolt app served over HTTP on a local port, as the bot would be, for the emulator's own tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from slack_bolt import App

__all__ = ["Bolt", "QuietHandler", "ThreadingWSGIServer"]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Bolt:
    """A Bolt app served over HTTP, as the bot would be, and the request bodies its listeners saw."""

    app: App
    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)
