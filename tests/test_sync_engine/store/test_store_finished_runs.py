"""`AnnouncementService.finished_not_shown`: the one query of the final-status sweep
(`bot.status.final_sweep`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync_engine.announcement_service import AnnouncementService
from sync_engine.domain import RunStatus
from sync_engine.store.database import Database
from sync_engine.store.models import BatchRunRow, RunAnnouncementRow

NOW = datetime(2025, 11, 27, 9, 30, tzinfo=UTC)


def _run(
    database: Database,
    status: RunStatus,
    finished_seconds_ago: float | None,
    *,
    channel: str | None = "C_FIN",
    announced: RunAnnouncementRow | None = None,
) -> int:
    finished = NOW - timedelta(seconds=finished_seconds_ago) if finished_seconds_ago is not None else None
    with database.session() as session:
        row = BatchRunRow(
            status=status.value,
            identifier_type="reference",
            requested_by="U1",
            created_at=NOW - timedelta(hours=1),
            updated_at=NOW,
            finished_at=finished,
            slack_channel=channel,
        )
        session.add(row)
        session.flush()
        if announced is not None:
            announced.run_id = row.id
            session.add(announced)
        return row.id


def test_finished_runs_not_shown_are_found_within_the_span_oldest_first(database: Database) -> None:
    service = AnnouncementService(database)
    recent_error = _run(database, RunStatus.ERROR, 5)
    recent_completed = _run(database, RunStatus.COMPLETED, 30)
    _run(database, RunStatus.COMPLETED, 20, announced=RunAnnouncementRow(final_digest="d", link="x"))
    _run(database, RunStatus.COMPLETED, 1)  # too recent: its own final update is still due
    _run(database, RunStatus.COMPLETED, 3600)  # too old
    _run(database, RunStatus.COMPLETED, 10, channel=None)  # from the CLI: no Slack message
    _run(database, RunStatus.CANCELLED, 10)  # a dropped draft: no status message
    _run(database, RunStatus.IN_PROGRESS, None)
    with_other_notes = _run(database, RunStatus.COMPLETED, 40, announced=RunAnnouncementRow(link="x"))

    found = service.finished_not_shown(
        finished_after=NOW - timedelta(minutes=10),
        finished_before=NOW - timedelta(seconds=2),
        limit=10,
    )
    assert [run_id for run_id, _ in found] == [with_other_notes, recent_completed, recent_error]
    assert found[-1][1] == NOW - timedelta(seconds=5)

    limited = service.finished_not_shown(
        finished_after=NOW - timedelta(minutes=10),
        finished_before=NOW - timedelta(seconds=2),
        limit=2,
    )
    assert [run_id for run_id, _ in limited] == [with_other_notes, recent_completed]
