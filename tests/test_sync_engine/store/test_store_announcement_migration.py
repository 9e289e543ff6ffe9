"""Revision 0006: the Slack status's notes (`batch_runs.extra`) become the run's typed announcement,
so an upgraded deployment finds what its status messages already did; a downgrade gives them back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kits.old_store import NOTES_REVISION, insert_noted_run, migrate_to, notes_of
from sqlalchemy import inspect

from sync_engine import jobs
from sync_engine.domain import IdentifierType, RunAnnouncement
from sync_engine.progress import RunEvents
from sync_engine.service import RunService
from sync_engine.store.database import Database

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DIGEST = "ab" * 32


def _service(database: Database) -> RunService:
    return RunService(database, jobs.DramatiqDispatcher(), RunEvents())


def test_the_upgrade_moves_each_runs_notes_into_its_announcement(empty_database_url: str) -> None:
    url = empty_database_url
    migrate_to(url, NOTES_REVISION)
    epoch = AT.timestamp()
    finished = AT + timedelta(minutes=1)
    announced = insert_noted_run(
        url,
        status="error",
        identifiers=["C-404404"],
        at=AT,
        finished_at=finished,
        error="None of the customers could be resolved.",
        channel="C_FIN",
        ts="1700000000.000100",
        notes={
            # As `bot.status` wrote them: claims `step#N` (a later N took over an earlier one left undone).
            "status_message#1": {"done": True, "at": epoch, "channel": "C_FIN", "ts": "1.1", "dm": False},
            "records_file#1": {"token": "a-worker-that-died", "at": epoch},
            "records_file#2": {"done": True, "at": epoch + 5, "file_id": "F1"},
            "error_reply#1": {"token": "a-worker-that-failed", "failed": True},
            "final_shown": DIGEST,
            "permalink": "https://team.slack.com/archives/C_FIN/p1700000000000100",
            "records_permalink": "https://team.slack.com/files/U_BOT/F1/records.txt",
            "requested_channel": "C_FIN",
        },
    )
    from_the_cli = insert_noted_run(url, status="received", identifiers=["C-1"], at=AT, notes={})

    database = Database(url)
    database.migrate()

    service = _service(database)
    moved = service.get(announced).announcement
    assert moved.link == "https://team.slack.com/archives/C_FIN/p1700000000000100"
    assert moved.records_link == "https://team.slack.com/files/U_BOT/F1/records.txt"
    assert (moved.final_digest, moved.final_shown_at) == (DIGEST, finished)
    steps = moved.steps
    assert set(steps) == {"status_message", "records_file", "error_reply"}
    assert (steps["status_message"].attempt, steps["status_message"].done_at) == (1, AT)
    assert (steps["records_file"].attempt, steps["records_file"].done_at) == (2, AT + timedelta(seconds=5))
    assert steps["error_reply"].attempt == 1 and not steps["error_reply"].done
    assert steps["error_reply"].owner == "a-worker-that-failed"
    assert service.get(from_the_cli).announcement == RunAnnouncement()
    # The moved claims hold as the notes did: done is done, one left undone is taken over.
    announcements = service.announcements()
    assert not announcements.claim_step(announced, "records_file", "a-new-worker")
    assert announcements.claim_step(announced, "error_reply", "a-new-worker")
    assert not announcements.finish_step(announced, "error_reply", "a-worker-that-failed")
    assert announcements.finish_step(announced, "error_reply", "a-new-worker")
    assert service.get(announced).announcement.steps["error_reply"].attempt == 2
    assert not announcements.claim_step(announced, "error_reply", "another-worker")
    with database.engine.connect() as connection:
        assert "extra" not in {column["name"] for column in inspect(connection).get_columns("batch_runs")}
    database.dispose()


def test_a_downgrade_gives_the_announcement_back_as_notes(empty_database_url: str) -> None:
    url = empty_database_url
    database = Database(url)
    database.migrate()
    service = _service(database)
    run = service.create_draft(IdentifierType.REFERENCE, ["C-1"], "U_ADMIN", slack_channel="C_FIN")
    announcements = service.announcements()
    assert announcements.claim_step(run.id, "status_message", "worker-1")
    assert announcements.finish_step(run.id, "status_message", "worker-1")
    assert announcements.claim_step(run.id, "records_file", "worker-1")
    announcements.save_links(run.id, link="https://x/p")
    assert announcements.mark_final_shown(run.id, DIGEST)
    database.dispose()

    migrate_to(url, NOTES_REVISION)

    notes = notes_of(url, run.id)
    assert set(notes) == {"status_message#1", "records_file#1", "permalink", "final_shown"}
    assert notes["status_message#1"]["done"] is True and notes["status_message#1"]["token"] == "worker-1"
    assert "done" not in notes["records_file#1"]
    assert (notes["permalink"], notes["final_shown"]) == ("https://x/p", DIGEST)
