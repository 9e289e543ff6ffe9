"""deploy/retention.sql, as the runbook runs it with psql: finished runs older than `keep` go with their
items, drafts older than a day go, recent runs and the AR data stay."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from kits.stack import Stack
from sqlalchemy import make_url, text

from sync_engine.clock import utcnow
from sync_engine.domain import IdentifierType, RunStatus

ROOT = Path(__file__).resolve().parents[3]
RETENTION = ROOT / "deploy" / "retention.sql"


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_retention_deletes_old_finished_runs_with_their_items_and_keeps_the_rest(stack: Stack) -> None:
    wids = stack.sandbox.data.customer_wids
    old = stack.run(IdentifierType.SOURCE_ID, wids[:3])
    recent = stack.run(IdentifierType.SOURCE_ID, wids[3:5])
    old_draft = stack.service.create_draft(IdentifierType.SOURCE_ID, wids[5:6], "U_TEST")
    new_draft = stack.service.create_draft(IdentifierType.SOURCE_ID, wids[6:7], "U_TEST")
    cancelled = stack.service.create_draft(IdentifierType.SOURCE_ID, wids[7:8], "U_TEST")
    assert stack.service.cancel(cancelled.id)
    assert old.status is recent.status is RunStatus.COMPLETED
    long_ago = utcnow() - timedelta(days=200)
    with stack.database.session() as session:
        for run_id in (old.id, cancelled.id):
            session.execute(
                text(
                    "UPDATE batch_runs SET created_at = :t, updated_at = :t, finished_at = :t WHERE id = :id"
                ),
                {"t": long_ago, "id": run_id},
            )
        session.execute(
            text("UPDATE batch_runs SET created_at = :t WHERE id = :id"),
            {"t": utcnow() - timedelta(days=2), "id": old_draft.id},
        )
        customers_before = session.execute(text("SELECT count(*) FROM customers")).scalar()

    url = make_url(stack.database.url).set(drivername="postgresql").render_as_string(hide_password=False)
    ran = subprocess.run(
        ["psql", "-v", "ON_ERROR_STOP=1", "-v", "keep=180 days", "-f", str(RETENTION), url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["BEGIN", "DELETE", "2", "DELETE", "1", "COMMIT"]

    with stack.database.session() as session:
        runs = set(session.execute(text("SELECT id FROM batch_runs")).scalars())
        items = set(session.execute(text("SELECT DISTINCT run_id FROM run_items")).scalars())
        customers_after = session.execute(text("SELECT count(*) FROM customers")).scalar()
    assert runs == items == {recent.id, new_draft.id}
    assert customers_after == customers_before == 5
