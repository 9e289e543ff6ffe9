"""A task repeated on a daemon thread until stopped; a failing round is logged and the next one runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

__all__ = ["Periodic"]

log = logging.getLogger(__name__)


class Periodic:
    """Calls `task()` every `every` (first call at once if `immediately`), until `stop()`."""

    def __init__(self, name: str, task: Callable[[], None], *, every: timedelta, immediately: bool) -> None:
        self._name = name
        self._task = task
        self._every = every.total_seconds()
        self._immediately = immediately
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        if not self._immediately and self._stop.wait(self._every):
            return
        while True:
            try:
                self._task()
            except Exception:
                # The store or broker may be briefly unreachable; the next round tries again.
                log.warning("Periodic task failed", extra={"task": self._name}, exc_info=True)
            if self._stop.wait(self._every):
                return
