"""What the sandbox was asked and how it answered: counters, a request log and the peak concurrency."""

from __future__ import annotations

import threading
from collections import Counter
from typing import NamedTuple

__all__ = ["OPERATIONS", "RequestLogEntry", "SandboxStats"]

#: Operations requests are counted by (plus "unknown" for what matched no endpoint or operation).
OPERATIONS = ("token", "Get_Customers", "Get_Customer_Payments", "invoices")


class RequestLogEntry(NamedTuple):
    operation: str
    outcome: str
    #: Short description of what was asked, e.g. "page=2 count=999 as_of=...".
    detail: str
    #: The (ID type, value) references a SOAP request sent (Customer_Reference / Remit-from).
    references: frozenset[tuple[str, str]] = frozenset()
    #: Seconds the sandbox spent building page 1 of the query (`seconds_per_result`).
    priced_seconds: float = 0.0


class SandboxStats:
    """Thread-safe; `reset()` between the phases of a test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[RequestLogEntry] = []
        self._in_flight = 0
        self._max_in_flight = 0

    def record(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._log.append(entry)

    def total(self) -> int:
        with self._lock:
            return len(self._log)

    def by_operation(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(entry.operation for entry in self._log))

    def by_outcome(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(entry.outcome for entry in self._log))

    def count(self, operation: str | None = None, outcome: str | None = None) -> int:
        """Requests of that operation and/or outcome."""
        with self._lock:
            return sum(
                (operation is None or entry.operation == operation)
                and (outcome is None or entry.outcome == outcome)
                for entry in self._log
            )

    @property
    def log(self) -> list[RequestLogEntry]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    @property
    def max_in_flight(self) -> int:
        """Most API requests (token requests excepted) handled at the same time."""
        with self._lock:
            return self._max_in_flight

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
            self._max_in_flight = self._in_flight

    def started(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def finished(self) -> None:
        with self._lock:
            self._in_flight -= 1
