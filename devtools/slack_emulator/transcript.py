"""What happened on the emulator, in order: Web API calls (and response_url posts and uploads) and the
requests Slack's side sent to the app. `EventLog.transcript()` renders it for issue notes; tokens never
appear in it (they are removed before anything is recorded)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AppDelivery", "EventLog", "RecordedCall"]

#: Longest parameter value shown in a transcript line.
_VALUE_WIDTH = 60


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One request to the emulator: a Web API method, "response_url" or "upload"."""

    method: str
    #: Parameters as the emulator understood them (JSON strings decoded), without the token.
    params: dict[str, Any]
    ok: bool
    error: str | None
    #: HTTP status of the answer.
    status: int
    #: Seconds since the emulator started.
    at: float = 0.0
    #: The JSON answer.
    response: dict[str, Any] = field(default_factory=dict)
    #: What Slack would not say but a reader should know (e.g. a reply that no one will ever see).
    note: str = ""


@dataclass(frozen=True, slots=True)
class AppDelivery:
    """One request Slack's side sent to the app and how the app answered."""

    #: "slash_command", "block_actions" or "view_submission".
    kind: str
    user: str
    #: Short description of what was sent, e.g. '/workday-resync "history" in C_FIN'.
    summary: str
    #: HTTP status of the app's answer; 0 when none came.
    status: int
    #: Seconds from sending the request to the complete answer.
    elapsed: float
    #: None when Slack accepted the answer; else what the user would see fail (e.g. "operation_timeout").
    error: str | None
    #: When Slack sent it, in seconds since the emulator started.
    at: float = 0.0


class EventLog:
    """Thread-safe, append-only record of calls and deliveries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[RecordedCall | AppDelivery] = []
        self._started = time.monotonic()

    def now(self) -> float:
        """Seconds since the log started."""
        return time.monotonic() - self._started

    def add(self, event: RecordedCall | AppDelivery) -> None:
        with self._lock:
            self._events.append(event)

    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return [event for event in self._events if isinstance(event, RecordedCall)]

    def deliveries(self) -> list[AppDelivery]:
        with self._lock:
            return [event for event in self._events if isinstance(event, AppDelivery)]

    def transcript(self) -> str:
        with self._lock:
            events = list(self._events)
        # A delivery is logged once answered, but belongs where it was sent: before the app's calls.
        return "\n".join(_line(event) for event in sorted(events, key=lambda event: event.at))


def _line(event: RecordedCall | AppDelivery) -> str:
    stamp = f"[{event.at:8.3f}s]"
    if isinstance(event, AppDelivery):
        outcome = f"HTTP {event.status}" if event.status else "no answer"
        failed = f" FAILED: {event.error}" if event.error else ""
        took = f"{event.elapsed * 1000:.0f} ms"
        return (
            f"{stamp} Slack -> app {event.kind} {event.summary} by {event.user}: {outcome} in {took}{failed}"
        )
    params = [f"{name}={_value(name, value)}" for name, value in event.params.items()]
    line = " ".join([stamp, event.method, *params, "->", _outcome(event)])
    return f"{line} ({event.note})" if event.note else line


def _value(name: str, value: Any) -> str:
    if name == "blocks" and isinstance(value, list):
        return f"[{len(value)} blocks]"
    if name == "view" and isinstance(value, dict):
        title = value.get("title", {}).get("text") if isinstance(value.get("title"), dict) else None
        blocks = value.get("blocks")
        count = len(blocks) if isinstance(blocks, list) else "?"
        return (
            f"{{{value.get('type')} callback_id={value.get('callback_id')!r} title={title!r} {count} blocks}}"
        )
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > _VALUE_WIDTH:
        text = text[: _VALUE_WIDTH - 1] + "…"
    if not isinstance(value, str) or (text and not any(char in text for char in ' "\n')):
        return text
    # Quoted where a bare string would be ambiguous: empty, or with spaces, quotes or newlines.
    return json.dumps(text, ensure_ascii=False)


def _outcome(call: RecordedCall) -> str:
    response = call.response
    if call.ok:
        facts = [f"{key}={response[key]}" for key in ("ts", "message_ts", "file_id") if key in response]
        for key in ("view", "channel"):
            if isinstance(response.get(key), dict) and "id" in response[key]:
                facts.append(f"{key}={response[key]['id']}")
        return " ".join(["ok", *facts])
    detail = f"error {call.error}"
    if call.status != 200:
        detail += f" (HTTP {call.status})"
    messages = response.get("response_metadata", {}).get("messages", [])
    if messages:
        detail += ": " + "; ".join(messages)
    return detail
