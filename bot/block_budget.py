"""How much of Slack's total size of blocks a message or view uses.

Slack refuses a message whose blocks, serialized, total about 13,000 characters (`msg_blocks_too_long`),
even when each block is within its own limit; our builders keep every message and view within
`BLOCKS_BUDGET` and put what does not fit in a file.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["BLOCKS_BUDGET", "blocks_chars", "within_budget"]

#: Characters of blocks a message or view may hold (Slack refuses about 13,000: a margin for the ids it
#: adds to blocks sent without them).
BLOCKS_BUDGET = 12_000


def blocks_chars(blocks: list[dict[str, Any]]) -> int:
    """The blocks' size as Slack counts it: their JSON, as slack_sdk sends it."""
    return len(json.dumps(blocks))


def within_budget(blocks: list[dict[str, Any]]) -> bool:
    return blocks_chars(blocks) <= BLOCKS_BUDGET
