"""The identifiers a Slack message lists, for the message shortcut (pure): Slack's escaping and markup
undone, then the engine's own split (lines, commas, tabs; blanks and duplicates dropped). The type is
guessed: Source ID when every one is a Workday ID, else Reference; the admin can change it in the form."""

from __future__ import annotations

import re

from bot.mrkdwn import unescape
from sync_engine import IdentifierType, split_identifiers

__all__ = ["identifiers_in_message"]

_LINK = re.compile(r"<([^<>|]*)\|([^<>]*)>")
_BARE_LINK = re.compile(r"<([^<>]*)>")
#: mrkdwn emphasis and list bullets around an identifier (never inside one of ours).
_MARKUP = re.compile(r"[*_~`•◦▪‣]+")
_WID = re.compile(r"[0-9a-fA-F]{32}")


def identifiers_in_message(text: str) -> tuple[IdentifierType, list[str]]:
    """The identifier type and the distinct identifiers of a message's `text`, in order."""
    plain = _BARE_LINK.sub(r"\1", _LINK.sub(r"\2", text))
    plain = unescape(_MARKUP.sub(" ", plain))
    tokens = split_identifiers(plain, IdentifierType.REFERENCE)
    kind = (
        IdentifierType.SOURCE_ID
        if tokens and all(_WID.fullmatch(token) for token in tokens)
        else IdentifierType.REFERENCE
    )
    return kind, split_identifiers(plain, kind)
