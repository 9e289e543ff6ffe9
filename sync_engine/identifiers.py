"""Turn pasted text into the clean, ordered list of identifiers a batch run works on (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sync_engine.errors import IdentifierError
from sync_engine.records import IdentifierType

__all__ = ["MAX_IDENTIFIERS", "TOO_MANY_MESSAGE", "WARNING", "parse_identifiers", "split_identifiers"]

#: Most customers one batch may name.
MAX_IDENTIFIERS = 100
TOO_MANY_MESSAGE = f"Too many identifiers. Maximum {MAX_IDENTIFIERS}."
#: What an admin confirms before a run, word for word in Slack and in the CLI (`.format(n=...)`).
WARNING = (
    "This re-imports and overwrites {n} customers and all their invoices, payments and credit notes. "
    "This cannot be undone."
)

_WID = re.compile(r"[0-9a-f]{32}")
# Separators: newlines, commas, semicolons and any whitespace (pastes from spreadsheets use tabs).
_SEPARATORS = re.compile(r"[\s,;]+")
# Invisible characters that ride along with copy-paste and would make an identifier silently wrong.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Bad lines named in an error before it is cut short (the message must stay readable in Slack).
_MAX_NAMED = 10


@dataclass(frozen=True, slots=True)
class _Token:
    line: int
    text: str


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for number, line in enumerate(text.translate(_INVISIBLE).splitlines(), start=1):
        tokens.extend(_Token(number, part) for part in _SEPARATORS.split(line) if part)
    return tokens


def split_identifiers(text: str, identifier_type: IdentifierType) -> list[str]:
    """Split, strip, drop blanks and duplicates (first occurrence wins); WIDs lowercased. No checks."""
    seen: dict[str, None] = {}
    for token in _tokens(text):
        value = token.text.lower() if identifier_type is IdentifierType.SOURCE_ID else token.text
        seen.setdefault(value, None)
    return list(seen)


def parse_identifiers(text: str, identifier_type: IdentifierType) -> list[str]:
    """The identifiers of a batch, or `IdentifierError` with a message to show under the input."""
    tokens = _tokens(text)
    identifiers = split_identifiers(text, identifier_type)
    if not identifiers:
        raise IdentifierError("Enter at least one identifier, one per line.")
    if len(identifiers) > MAX_IDENTIFIERS:
        raise IdentifierError(TOO_MANY_MESSAGE)
    if identifier_type is IdentifierType.SOURCE_ID:
        bad = [token for token in tokens if not _WID.fullmatch(token.text.lower())]
        if bad:
            named = ", ".join(f"line {token.line} ({_shorten(token.text)})" for token in bad[:_MAX_NAMED])
            more = f" and {len(bad) - _MAX_NAMED} more" if len(bad) > _MAX_NAMED else ""
            raise IdentifierError(
                f"Not a Workday ID (32 hexadecimal characters): {named}{more}. "
                "If these are customer numbers, choose Reference instead."
            )
    return identifiers


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
