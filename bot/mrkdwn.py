"""Text for Slack's mrkdwn: escaping what users typed, local-time dates, durations, cutting to limits.

Everything a user or Workday wrote is escaped before it reaches Slack (`&`, `<`, `>`), so a pasted
`<!channel>` or `<https://evil|bank>` is shown as typed and never pings or links.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = [
    "clip",
    "date_token",
    "duration_text",
    "escape",
    "escaped_chunks",
    "plural",
    "unescape",
    "user_ref",
]

#: Date format shown in each reader's own time zone: "Today at 14:05", "Nov 26, 2026 at 9:30 AM".
DATE_FORMAT = "{date_short_pretty} at {time}"

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SLACK_USER = re.compile(r"[UW][A-Z0-9_]{2,}")


def escape(text: str) -> str:
    """Text shown as written: Slack's three control characters escaped."""
    return "".join(_ESCAPES.get(character, character) for character in text)


def unescape(text: str) -> str:
    """Text as the user typed it, from text Slack sent (it sends `&`, `<` and `>` as entities)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def date_token(moment: datetime, date_format: str = DATE_FORMAT) -> str:
    """A `<!date^…>` token: each reader sees the moment in their own time zone (UTC fallback)."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{date_format}|{fallback}>"


def user_ref(requested_by: str) -> str:
    """A mention for a Slack user id; anything else (e.g. `cli:ana` for terminal runs) as plain text."""
    if _SLACK_USER.fullmatch(requested_by):
        return f"<@{requested_by}>"
    return escape(requested_by)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def duration_text(seconds: float) -> str:
    """ "42 s", "3 min 5 s", "1 h 2 min"."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def escaped_chunks(text: str, limit: int) -> list[str]:
    """`text` escaped and cut into pieces of at most `limit` characters, at a space when there is one.

    Cutting happens on the raw text, so an escape like `&amp;` is never split across two pieces.
    """
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    last_space = -1  # index in `current` after which a cut is nicest
    for character in text:
        escaped = _ESCAPES.get(character, character)
        if size + len(escaped) > limit and current:
            cut = last_space + 1 if last_space >= 0 else len(current)
            pieces.append("".join(current[:cut]))
            current = current[cut:]
            size = sum(len(part) for part in current)
            last_space = max((i for i, part in enumerate(current) if part.isspace()), default=-1)
        current.append(escaped)
        size += len(escaped)
        if character.isspace():
            last_space = len(current) - 1
    if current:
        pieces.append("".join(current))
    return [piece for piece in pieces if piece.strip()] or [""]


def clip(text: str, limit: int, *, more: str = "…") -> str:
    """`text` escaped and cut to at most `limit` characters, ending with `more` when cut."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    first = escaped_chunks(text, max(1, limit - len(more)))[0]
    return first.rstrip() + more
