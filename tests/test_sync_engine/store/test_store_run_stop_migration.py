"""Revision 0009: a downgrade leaves the older code runs and items it can read."""

from __future__ import annotations

from sqlalchemy import text

from sync_engine.clock import utcnow
from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.store import runs, stops
from sync_engine.store.database import Database


def test_a_downgrade_turns_stopped_runs_into_error_runs_and_skipped_items_into_failed_ones(
    empty_database_url: str,
) -> None:
    database = Database(empty_database_url)
    database.migrate()
    with database.session() as session:
        run_id = runs.create_run(
            session,
            identifier_type=IdentifierType.REFERENCE,
            identifiers=["C-1", "C-2"],
            requested_by="U_ANA",
            status=RunStatus.RECEIVED,
            now=utcnow(),
        )
    with database.session() as session:
        assert stops.stop_run(session, run_id, "U_OLGA", utcnow()) is stops.StopResult.STOPPED

    database.downgrade("0007")

    with database.engine.connect() as connection:
        run = connection.execute(text("SELECT status, error FROM batch_runs")).one()
        items = connection.execute(text("SELECT status, error FROM run_items ORDER BY position")).all()
    assert tuple(run) == ("error", "Stopped by U_OLGA before it finished.")
    assert [tuple(item) for item in items] == [("failed", "Skipped: its run was stopped.")] * 2
    database.migrate()  # and up again
    with database.session() as session:
        assert runs.get_run(session, run_id).status is RunStatus.ERROR
    database.dispose()
