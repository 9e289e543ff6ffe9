"""The CLI in an 80-column terminal, as an admin sees it: the progress bar's counts, Ctrl-C, and what becomes
of an interrupted run (resumed, abandoned, or picked up by a later sync, which says so)."""

from __future__ import annotations

import json
import re
import sys
from datetime import timedelta
from typing import Any

from kits.cli import run_cli as _cli
from kits.terminal import Shown, in_terminal
from sqlalchemy import select

from sync_engine.store.database import Database
from sync_engine.store.models import BatchRunRow, RunItemRow
from sync_engine.workday.sandbox import Sandbox

CLI = [sys.executable, "-m", "sync_engine"]
#: n/N of the progress bar (its time reads 0:00:01, without a slash).
FRACTION = re.compile(r"\b(\d+)/(\d+)\b")


def _references(sandbox: Sandbox, start: int, stop: int) -> list[str]:
    return [customer.customer_id or "" for customer in sandbox.data.customers[start:stop]]


def _counts_text(sandbox: Sandbox, references: list[str]) -> str:
    customers = [c for c in sandbox.data.customers if c.customer_id in references]
    invoices, payments, credit_notes = (
        sum(sandbox.data.counts(c.wid)[i] for c in customers) for i in range(3)
    )
    counts = f"Customers {len(customers)} · Invoices {invoices} · Payments {payments}"
    return f"{counts} · Credit notes {credit_notes}"


def _runs(env: dict[str, str]) -> dict[int, dict[str, Any]]:
    result = _cli(env, "history", "--json")
    assert result.returncode == 0, result.stderr
    return {run["id"]: run for run in json.loads(result.stdout)}


def test_the_progress_bar_counts_the_customers_selected_and_keeps_its_counts_at_80_columns(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    references = _references(sandbox, 0, 3)

    shown = in_terminal([*CLI, "sync", "--type", "reference", *references, "--yes"], environment, columns=80)

    assert shown.returncode == 0, shown.text
    assert "3 customers selected." in shown.text
    fractions = FRACTION.findall(shown.text)
    assert fractions and {total for _, total in fractions} == {"3"}, fractions
    assert ("3", "3") in fractions
    assert _counts_text(sandbox, references) in shown.text
    assert "…" not in shown.text


def _interrupted(
    sandbox: Sandbox, environment: dict[str, str], references: list[str], *options: str
) -> Shown:
    """`sync` of `references` (with `options`), Ctrl-C once one customer is done and others are not."""
    sandbox.knobs.latency = 0.2
    # One worker thread, one customer a request: customers end one at a time, as Ctrl-C needs.
    slow = {**environment, "WORKER_THREADS": "1", "WORKDAY_CUSTOMERS_PER_GROUP": "1"}
    total = len(references)
    shown = in_terminal(
        [*CLI, "sync", "--type", "reference", *references, "--yes", *options],
        slow,
        interrupt_when=lambda text: f"1/{total}" in text,
    )
    sandbox.knobs.latency = 0.0
    return shown


def test_ctrl_c_says_what_becomes_of_the_run_and_resume_finishes_it(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    references = _references(sandbox, 0, 6)

    shown = _interrupted(sandbox, environment, references)

    assert shown.returncode == 130, shown.text
    said = " ".join(shown.text.split())
    assert "Interrupted: stopping; the customers being written are finished first." in said
    assert re.search(r"Run 1 stopped with [1-5] of 6 customers done", said), said
    assert "stays In progress" in said
    assert "Finish it: workday-resync resume 1" in said
    assert "Leave it: workday-resync abandon 1" in said
    assert _runs(environment)[1]["status"] == "in_progress"

    resumed = _cli(environment, "resume", "1")

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Resuming run 1." in resumed.stdout
    run = _runs(environment)[1]
    assert run["status"] == "completed"
    assert _counts_text(sandbox, references) == (
        f"Customers {run['counts']['customers']} · Invoices {run['counts']['invoices']} · "
        f"Payments {run['counts']['payments']} · Credit notes {run['counts']['credit_notes']}"
    )


def test_ctrl_c_during_a_preview_says_what_becomes_of_it_as_during_a_sync(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    shown = _interrupted(sandbox, environment, _references(sandbox, 0, 6), "--preview")

    assert shown.returncode == 130, shown.text
    said = " ".join(shown.text.split())
    assert re.search(r"Run 1 stopped with [1-5] of 6 customers done", said), said
    assert "Finish it: workday-resync resume 1" in said
    assert "Traceback" not in shown.text
    run = _runs(environment)[1]
    assert (run["kind"], run["status"]) == ("preview", "in_progress")


def test_abandon_ends_an_interrupted_run_in_error_keeping_what_it_synced(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    shown = _interrupted(sandbox, environment, _references(sandbox, 0, 6))
    assert shown.returncode == 130, shown.text
    synced = _runs(environment)[1]["counts"]["customers"]

    abandoned = _cli(environment, "abandon", "1")

    assert abandoned.returncode == 0, abandoned.stderr
    run = _runs(environment)[1]
    assert run["status"] == "error"
    assert "Abandoned by cli:" in run["error"]
    assert 1 <= run["counts"]["customers"] == synced < 6
    again = _cli(environment, "abandon", "1")
    assert again.returncode == 2
    assert again.stderr.strip() == "Error: Run 1 has already ended: nothing to abandon."


def _as_if_interrupted_long_ago(database_url: str) -> None:
    """Move the run's and its items' times an hour back: what waiting that hour would do (a process
    picks up only runs that nothing has touched for a while, in case another process has them)."""
    hour = timedelta(hours=1)
    database = Database(database_url)
    try:
        with database.session() as session:
            for run in session.scalars(select(BatchRunRow)):
                run.updated_at -= hour
            for item in session.scalars(select(RunItemRow)):
                item.enqueued_at = item.enqueued_at - hour if item.enqueued_at else None
                item.lease_until = item.lease_until - hour if item.lease_until else None
    finally:
        database.dispose()


def test_a_later_sync_says_in_plain_words_that_it_resumes_an_interrupted_run(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    first = _references(sandbox, 0, 6)
    assert _interrupted(sandbox, environment, first).returncode == 130
    _as_if_interrupted_long_ago(environment["DATABASE_URL"])

    shown = in_terminal(
        [*CLI, "sync", "--type", "reference", *_references(sandbox, 6, 8), "--yes"], environment
    )

    assert shown.returncode == 0, shown.text
    said = " ".join(shown.text.split())
    assert re.search(r"Resuming run 1, interrupted earlier \(\d of 6 customers done\)", said), said
    assert "Run 2: Completed" in said and "Run 1: Completed" in said
    assert not [line for line in shown.text.splitlines() if line.lstrip().startswith("{")]
    runs = _runs(environment)
    assert runs[1]["status"] == runs[2]["status"] == "completed"
    assert runs[1]["counts"]["customers"] == 6


def test_ctrl_c_with_redis_leaves_the_run_to_the_workers(
    sandbox: Sandbox, environment: dict[str, str], redis_url: str
) -> None:
    # No `workday-resync worker` runs: the run waits in Redis for one.
    env = {**environment, "REDIS_URL": redis_url}

    shown = in_terminal(
        [*CLI, "sync", "--type", "reference", *_references(sandbox, 0, 3), "--yes"],
        env,
        interrupt_when=lambda text: "0/3" in text,
    )

    assert shown.returncode == 130, shown.text
    said = " ".join(shown.text.split())
    assert "Stopped following run 1: it goes on in the workers (0 of 3 customers done so far)." in said
    assert "Follow it: workday-resync resume 1" in said
    assert "Interrupted: stopping" not in said
    assert _runs(env)[1]["status"] == "received"
