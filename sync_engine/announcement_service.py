"""`AnnouncementService`: what a front end records about its announcement of a run (the Slack status
message), typed and in tables of its own (`store.announcements`); a run carries it as `BatchRun.announcement`.
"""

from __future__ import annotations

from datetime import datetime

from sync_engine.clock import utcnow
from sync_engine.store import announcements
from sync_engine.store.database import Database

__all__ = ["AnnouncementService"]


class AnnouncementService:
    """Once-only steps, links and the final state shown, per run, shared by every process."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def claim_step(self, run_id: int, step: str, owner: str) -> bool:
        """True for the one caller, across processes, that may do `step` of the run's announcement now:
        the first, or one taking over a claim left undone (its owner died or failed). False once it is
        done. Makes one-off side effects idempotent, e.g. posting a run's records file once."""
        with self._database.session() as session:
            return announcements.claim_step(session, run_id, step, owner, utcnow())

    def finish_step(self, run_id: int, step: str, owner: str) -> bool:
        """Mark `step` done; False if `owner` no longer held its claim (another caller took it over)."""
        with self._database.session() as session:
            return announcements.finish_step(session, run_id, step, owner, utcnow())

    def save_links(
        self,
        run_id: int,
        *,
        link: str | None = None,
        records_link: str | None = None,
        results_link: str | None = None,
    ) -> None:
        """Where admins open the announcement, the run's records file and its results file (None: left as
        it is)."""
        with self._database.session() as session:
            announcements.save_links(
                session, run_id, link=link, records_link=records_link, results_link=results_link
            )

    def mark_final_shown(self, run_id: int, digest: str) -> bool:
        """The announcement shows the run's final state (`digest`) and all it owes; the first call counts."""
        with self._database.session() as session:
            return announcements.mark_final_shown(session, run_id, digest, utcnow())

    def finished_not_shown(
        self, *, finished_after: datetime, finished_before: datetime, limit: int
    ) -> list[tuple[int, datetime]]:
        """(run id, finished at) of runs that ended (Completed or Error) in that span, are announced in a
        channel and whose announcement does not show the final state yet, oldest first, at most `limit`."""
        with self._database.session() as session:
            return announcements.finished_runs_not_shown(
                session, finished_after=finished_after, finished_before=finished_before, limit=limit
            )
