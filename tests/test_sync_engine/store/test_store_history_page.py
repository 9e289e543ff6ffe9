"""A page of history (`runs.list_runs`) reads every run whole (items, announcement, approval, kept copies)
in a fixed number of queries, however many runs the page holds: it is rendered while Slack acks wait for
the same CPU, and each query is a round trip to PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from sync_engine.domain import ItemStatus, RunStatus
from sync_engine.store import runs
from sync_engine.store.database import Database
from sync_engine.store.models import (
    BatchRunRow,
    PreviousCopyRow,
    RunAnnouncementRow,
    RunAnnouncementStepRow,
    RunApprovalRow,
    RunItemRow,
)

NOW = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)


def _history(database: Database, count: int) -> list[int]:
    """`count` finished runs, each with its own items, announcement and steps, approval and kept copies."""
    ids = []
    with database.session() as session:
        for n in range(count):
            run = BatchRunRow(
                status=RunStatus.COMPLETED.value,
                identifier_type="reference",
                requested_by=f"U{n}",
                created_at=NOW + timedelta(minutes=n),
                updated_at=NOW,
                finished_at=NOW + timedelta(minutes=n, seconds=30),
            )
            session.add(run)
            session.flush()
            ids.append(run.id)
            statuses = [ItemStatus.SYNCED, ItemStatus.FAILED, ItemStatus.UNRESOLVED][: 1 + n % 3]
            for position, status in enumerate(statuses):
                synced = status is ItemStatus.SYNCED
                session.add(
                    RunItemRow(
                        run_id=run.id,
                        position=position,
                        identifier=f"C-{n}-{position}",
                        customer_wid=f"wid{n}{position}" if status is not ItemStatus.UNRESOLVED else None,
                        status=status.value,
                        invoices=n + 1 if synced else 0,
                        payments=2 * n if synced else 0,
                        credit_notes=n % 2 if synced else 0,
                        error="Workday refused" if status is ItemStatus.FAILED else None,
                    )
                )
            session.add(RunAnnouncementRow(run_id=run.id, link=f"https://slack/{n}", final_digest=f"d{n}"))
            session.add(
                RunAnnouncementStepRow(run_id=run.id, step="records", attempt=1, owner="w", claimed_at=NOW)
            )
            if n % 2:
                session.add(RunApprovalRow(run_id=run.id, above=n, held_at=NOW, expires_at=NOW))
                for wid, days in ((f"wid{n}0", 7 + n), (f"wid{n}9", 3 + n)):
                    session.add(
                        PreviousCopyRow(
                            run_id=run.id,
                            customer_wid=wid,
                            existed=False,
                            saved_at=NOW,
                            keep_until=NOW + timedelta(days=days),
                        )
                    )
    return ids


@contextmanager
def counted_queries(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN IMMEDIATE
            statements.append(args[2])

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def test_a_page_of_history_costs_the_same_queries_for_two_runs_as_for_twelve(database: Database) -> None:
    ids = _history(database, 12)
    with database.session() as session, counted_queries(database) as two:
        runs.list_runs(session, limit=2)
    with database.session() as session, counted_queries(database) as twelve:
        page = runs.list_runs(session, limit=12)
    # The runs, their items, announcements, announcement steps, kept copies and approvals.
    assert len(twelve) == len(two) == 6, twelve
    # Each run on the page is whole and its own, as read alone.
    assert [run.id for run in page] == ids[::-1]
    with database.session() as session:
        alone = [runs.get_run(session, run_id) for run_id in ids[::-1]]
    assert page == alone
    odd = page[-2]  # the second run: an approval and two copies kept, the earlier until NOW + 4 days
    assert odd.approval is not None and odd.previous_kept_until == NOW + timedelta(days=4)
    assert odd.counts.invoices == 2 and odd.failed == ["C-1-1"] and odd.unresolved == []
    assert page[-1].approval is None and page[-1].previous_kept_until is None
    assert page[-1].announcement.link == "https://slack/0" and "records" in page[-1].announcement.steps
