"""A run as front ends are handed it (`BatchRun`), for tests of the pure Block Kit builders."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sync_engine.domain import BatchRun, IdentifierType, RunCounts, RunStatus

T0 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def make_run(**changes: object) -> BatchRun:
    """Run 7 of ten customers by WID, in progress with three synced, announced in C_FIN; `changes` to any
    field."""
    run = BatchRun(
        id=7,
        status=RunStatus.IN_PROGRESS,
        identifier_type=IdentifierType.SOURCE_ID,
        identifiers=[f"{n:032x}" for n in range(10)],
        requested_by="U_ADMIN",
        created_at=T0,
        started_at=T0 + timedelta(seconds=2),
        finished_at=None,
        counts=RunCounts(3, 40, 12, 2),
        resolved=10,
        unresolved=[],
        failed=[],
        error=None,
        slack_channel="C_FIN",
        slack_message_ts="1.000001",
    )
    return replace(run, **changes)  # type: ignore[arg-type]
