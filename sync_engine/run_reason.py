"""Why a run was asked for: a free-text reason or ticket, kept with the run for auditors.

Every front end (the Slack form, the CLI) and `RunService` itself clean a reason here, so one rule holds
wherever a run is created: trimmed, at most `MAX_REASON_LENGTH` characters, no control characters but
tabs and line breaks, and, with `RESYNC_REQUIRE_REASON=true`, not empty.
"""

from __future__ import annotations

import unicodedata

from sync_engine.errors import ResyncError

__all__ = ["MAX_REASON_LENGTH", "REASON_REQUIRED", "ReasonError", "clean_reason"]

#: Characters a reason may hold: room for a sentence and a ticket link, small enough for every message.
MAX_REASON_LENGTH = 500
REASON_REQUIRED = (
    "A reason is required (RESYNC_REQUIRE_REASON is on): say why these customers are re-imported, "
    "or give the ticket. Nothing was stored."
)
_ALLOWED_CONTROLS = frozenset("\t\n\r")


class ReasonError(ResyncError):
    """The reason given for a run cannot be used as it is (the requester's to fix)."""


def clean_reason(reason: str | None, *, required: bool) -> str | None:
    """The reason as stored: trimmed, None when empty; `ReasonError` when missing but `required`, too
    long, or holding a control character (which PostgreSQL text refuses, or which would garble output)."""
    text = (reason or "").strip()
    if not text:
        if required:
            raise ReasonError(REASON_REQUIRED)
        return None
    if len(text) > MAX_REASON_LENGTH:
        raise ReasonError(
            f"The reason is {len(text)} characters long: at most {MAX_REASON_LENGTH}. Shorten it (a ticket "
            "number is enough). Nothing was stored."
        )
    for position, character in enumerate(text, start=1):
        if unicodedata.category(character) == "Cc" and character not in _ALLOWED_CONTROLS:
            raise ReasonError(
                f"The reason holds a control character (U+{ord(character):04X}) at character {position}: "
                "remove it. Nothing was stored."
            )
    return text
