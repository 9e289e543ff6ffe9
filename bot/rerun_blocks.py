"""Re-running what failed, as messages show it (pure builders: data in, blocks out): the **Re-run N**
button of a finished run's status message, and "Re-run of #M" wherever a run that re-runs another is
shown (its status message, history, the Home tab, the form and its confirmation)."""

from __future__ import annotations

from typing import Any

from bot.ids import ActionId, BlockId
from sync_engine import BatchRun

__all__ = ["rerun_actions", "rerun_of_suffix"]

JsonDict = dict[str, Any]


def rerun_of_suffix(run: BatchRun) -> str:
    """ " · Re-run of #M" for a run that re-runs run M, else ""."""
    return f" · Re-run of #{run.rerun_of}" if run.rerun_of is not None else ""


def rerun_actions(run: BatchRun) -> list[JsonDict]:
    """A finished sync's **Re-run N** button (N: its failed and unresolved customers), or nothing.

    It only opens the request form, pre-filled: the admin still checks, submits and confirms the re-run."""
    count = len(run.rerun_identifiers)
    if not count:
        return []
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": f"Re-run {count}"},
        "action_id": ActionId.RERUN.value,
        "value": str(run.id),
    }
    return [{"type": "actions", "block_id": BlockId.RERUN.value, "elements": [button]}]
