"""How the engine tells the outside world that a run changed, without knowing who listens.

The engine publishes `RunEvent`s; front ends subscribe. The CLI subscribes a callback for its progress
bar; the Slack app subscribes from its plugin (`sync_engine.plugins`), which every worker process loads,
so the engine never imports Slack.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["RunEvent", "RunEventKind", "RunEvents", "RunObserver"]

log = logging.getLogger(__name__)


class RunEventKind(StrEnum):
    RECEIVED = "received"
    STARTED = "started"
    PROGRESS = "progress"
    #: An interrupted run's work was sent again (`sync_engine.resume`).
    RESUMED = "resumed"
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class RunEvent:
    """Run `run_id` changed; observers read its current state from the run service."""

    run_id: int
    kind: RunEventKind


RunObserver = Callable[[RunEvent], None]


class RunEvents:
    """A process-wide list of observers; a failing observer is logged and never fails the run."""

    def __init__(self) -> None:
        self._observers: list[RunObserver] = []
        self._lock = threading.Lock()

    def subscribe(self, observer: RunObserver) -> Callable[[], None]:
        """Add an observer; returns the function that removes it."""
        with self._lock:
            self._observers.append(observer)

        def unsubscribe() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return unsubscribe

    def publish(self, event: RunEvent) -> None:
        with self._lock:
            observers = list(self._observers)
        for observer in observers:
            try:
                observer(event)
            except Exception:
                log.exception("Run observer failed", extra={"run_id": event.run_id, "kind": event.kind.value})
