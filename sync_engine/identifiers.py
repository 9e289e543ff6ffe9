"""Turn pasted text into the clean, ordered list of identifiers a batch run works on (pure)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sync_engine.domain import IdentifierType
from sync_engine.errors import IdentifierError

__all__ = [
    "MAX_IDENTIFIERS",
    "MAX_IDENTIFIER_LENGTH",
    "TOO_MANY_MESSAGE",
    "WARNING",
    "looks_like_wid",
    "parse_identifiers",
    "split_identifiers",
]

#: Most customers one batch may name.
MAX_IDENTIFIERS = 100
#: Longest identifier accepted: Workday's customer IDs fit (the store keeps 255), a stray paste does not.
MAX_IDENTIFIER_LENGTH = 255
TOO_MANY_MESSAGE = f"Too many identifiers. Maximum {MAX_IDENTIFIERS}."
#: What an admin confirms before a run, word for word in Slack and in the CLI (`.format(n=...)`).
WARNING = (
    "This re-imports and overwrites {n} customers and all their invoices, payments and credit notes. "
    "This cannot be undone."
)

_WID = re.compile(r"[0-9a-f]{32}")
# Separators: newlines, commas, semicolons and any whitespace (pastes from spreadsheets use tabs).
_SEPARATORS = re.compile(r"[\s,;]+")
# Invisible formatting characters (zero-width spaces, BOM, soft hyphen, bidi marks) that ride along
# with copy-paste and would make an identifier silently wrong: Unicode category Cf, dropped.
# (The Basic Multilingual Plane and the tag block hold every Cf character a paste brings.)
_INVISIBLE = {
    code: None
    for code in (*range(0x10000), *range(0xE0000, 0xE0080))
    if unicodedata.category(chr(code)) == "Cf"
}
# Characters no identifier can hold and XML 1.0 cannot carry to Workday: control characters (the
# whitespace ones are separators), lone surrogates (undecodable bytes) and the non-characters U+FFFE/F.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
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
    _refuse(
        "Identifiers cannot contain control characters",
        [token for token in tokens if _UNPRINTABLE.search(token.text)],
    )
    _refuse(
        f"Identifiers are at most {MAX_IDENTIFIER_LENGTH} characters long",
        [token for token in tokens if len(token.text) > MAX_IDENTIFIER_LENGTH],
    )
    if identifier_type is IdentifierType.SOURCE_ID:
        bad = [token for token in tokens if not _WID.fullmatch(token.text.lower())]
        if bad:
            raise IdentifierError(
                f"Not a Workday ID (32 hexadecimal characters): {_name(bad)}. "
                "If these are customer numbers, choose Reference instead."
            )
    return identifiers


def looks_like_wid(identifier: str) -> bool:
    """32 hexadecimal characters: a Workday ID, though a reference may be spelled so too."""
    return _WID.fullmatch(identifier.lower()) is not None


def _refuse(problem: str, bad: list[_Token]) -> None:
    if bad:
        raise IdentifierError(f"{problem}: {_name(bad)}.")


def _name(bad: list[_Token]) -> str:
    """ "line 2 (C-1), line 4 (x…) and 3 more": the first bad lines, each shown printable and short."""
    named = ", ".join(f"line {token.line} ({_shorten(token.text)})" for token in bad[:_MAX_NAMED])
    return named + (f" and {len(bad) - _MAX_NAMED} more" if len(bad) > _MAX_NAMED else "")


def _shorten(text: str, limit: int = 40) -> str:
    # Unprintable characters are named by code point, so the message itself stays printable.
    shown = _UNPRINTABLE.sub(lambda found: f"U+{ord(found.group()):04X}", text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
