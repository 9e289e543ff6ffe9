"""What a sandbox endpoint answers (`Reply`, an HTTP answer and its log line), and the order in which a
listing over several customers gives their records (one customer after another, or one of each in turn)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "HTML_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "SOAP_CONTENT_TYPE",
    "Reply",
    "in_turn",
    "one_after_another",
    "soap_reply",
]

SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer and what the request log should say about it."""

    status: int
    content_type: str
    body: bytes
    #: "token", "Get_Customers", "Get_Customer_Payments", "invoices", another SOAP operation or "unknown".
    operation: str
    #: "ok", "fault", "throttled", "unauthorized", "timeout" or "too_large" (broken off).
    outcome: str = "ok"
    detail: str = ""
    references: frozenset[tuple[str, str]] = frozenset()
    headers: tuple[tuple[str, str], ...] = ()
    #: The page served, for the knob that slows page 1 down.
    page: int | None = None
    #: Close the connection after answering (the body may not have been read).
    close: bool = False
    #: Send only this many bytes of the body, then close the connection (a response broken off).
    cut_at: int | None = None
    #: Documents (or customers) the query matched over all its pages, for the knob that prices page 1.
    matched: int = 0
    #: Seconds page 1 took to build because of that knob (logged, so tests need no clock).
    priced_seconds: float = 0.0


def soap_reply(operation: str, body: bytes, *, outcome: str = "fault", detail: str = "") -> Reply:
    """A SOAP fault: HTTP 500, logged as a "fault" unless `outcome` says otherwise."""
    return Reply(500, SOAP_CONTENT_TYPE, body, operation, outcome, detail)


def one_after_another(lists: list[list[_T]]) -> list[_T]:
    """Every item of the first list, then of the second, and so on."""
    return [item for items in lists for item in items]


def in_turn(lists: list[list[_T]]) -> list[_T]:
    """One item of each list in turn, as long as any has items left (a stable order: pages can be read)."""
    return [item for row in itertools.zip_longest(*lists) for item in row if item is not None]
