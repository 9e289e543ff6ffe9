"""At `serve`'s start without Redis: queue the final update of recent runs whose final state Slack does
not show (the updates queued in a previous process's memory died with it)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sync_engine import RunService

__all__ = ["catch_up"]

log = logging.getLogger(__name__)


def catch_up(service: RunService, send: Callable[[int, bool], None], *, recent: int = 20) -> int:
    """Queue (`send(run_id, final)`) a final status update for each of the `recent` last runs that
    finished without Slack showing it all; returns how many."""
    behind = [
        run.id
        for run in service.history(limit=recent)
        if run.is_final and run.slack_channel is not None and run.announcement.final_digest is None
    ]
    for run_id in behind:
        send(run_id, True)
    if behind:
        log.info("Slack status of finished runs brought up to date", extra={"runs": behind})
    return len(behind)
