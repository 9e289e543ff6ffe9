"""Logging set-up: readable lines on a terminal, JSON lines otherwise (for log collectors).

Fields come from `extra=` and from the job's context (`bind`): every event a job logs, in its own
thread or in threads started with a copy of its context, carries e.g. the run id and customer WID.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar
from typing import Any

__all__ = ["OUR_LOGGERS", "JsonFormatter", "bind", "clear", "configure_logging", "debugging"]

# Attributes every LogRecord has; anything else was passed with `extra=` and is a field of the event.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


#: Loggers of our own code: their events are the log. Other libraries' below WARNING are noise (alembic's
#: "setup plugin" lines, Dramatiq's boot chatter) and show only when debugging.
OUR_LOGGERS = ("sync_engine", "bot", "devtools", "__main__")
#: The environment variable that sets the level (`debug` also shows libraries' events and tracebacks).
LOG_LEVEL_VARIABLE = "LOG_LEVEL"

_fields: ContextVar[dict[str, Any] | None] = ContextVar("log_fields", default=None)


def bind(**fields: Any) -> None:
    """Add `fields` to every later event of the current job (this context), until `clear`."""
    _fields.set({**(_fields.get() or {}), **fields})


def clear() -> None:
    """Forget the fields bound so far (a worker thread starts its next job)."""
    _fields.set(None)


class _ContextFields(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_fields.get() or {}).items():
            if key not in record.__dict__:  # `extra=` wins
                setattr(record, key, value)
        return True


def _fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The event's own fields; one set to None is left out (e.g. a run-level event in a customer's job)."""
    fields = record.__dict__.items()
    return {key: value for key, value in fields if key not in _STANDARD and value is not None}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        event.update(_fields_of(record))
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


class FieldsFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={value}" for key, value in _fields_of(record).items())
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.getMessage()}"
        line = f"{line} {fields}" if fields else line
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


class _OursOrWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.partition(".")[0] in OUR_LOGGERS


def debugging() -> bool:
    """`LOG_LEVEL=debug` (or `--debug`, which sets it for this process and those it starts)."""
    return os.environ.get(LOG_LEVEL_VARIABLE, "").strip().lower() == "debug"


def _level_from_environment(default: int) -> int:
    name = os.environ.get(LOG_LEVEL_VARIABLE, "").strip().upper()
    level = logging.getLevelNamesMapping().get(name)
    return default if level is None else level


def configure_logging(level: int = logging.INFO, *, stream: Any = None) -> None:
    """Send logs to stderr, as JSON lines unless stderr is a terminal. `LOG_LEVEL` overrides `level`;
    other libraries' events below WARNING are left out unless it is `debug`."""
    stream = stream or sys.stderr
    level = _level_from_environment(level)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(FieldsFormatter() if stream.isatty() else JsonFormatter())
    handler.addFilter(_ContextFields())
    if level > logging.DEBUG:
        handler.addFilter(_OursOrWarnings())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per HTTP request is noise: the metrics count Workday's requests, failures are logged.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
