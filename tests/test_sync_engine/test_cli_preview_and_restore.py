"""`workday-resync restore` and `sync --preview` as an operator uses them: a real process against the sandbox
and a SQLite store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kits.changes import change_on_workday
from kits.cli import cli_environment, run_cli
from kits.stack import stored_customer, without_fetched_at

from sync_engine.store.database import Database
from sync_engine.workday.sandbox import Sandbox, SandboxData


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox of this test's own: the tests change its data."""
    with Sandbox(SandboxData.generate(customers=6, seed=9)) as sandbox:
        yield sandbox


@pytest.fixture
def env(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    return cli_environment(sandbox, tmp_path)


def store(env: dict[str, str], wids: list[str]) -> dict[str, Any]:
    database = Database(env["DATABASE_URL"])
    try:
        snapshots = {wid: stored_customer(database, wid) for wid in wids}
        return {
            wid: without_fetched_at(snapshot) if snapshot else None for wid, snapshot in snapshots.items()
        }
    finally:
        database.dispose()


@pytest.fixture
def two_syncs(sandbox: Sandbox, env: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    """Runs 1 and 2 synced three customers, changed on Workday in between: (wids, content after run 1)."""
    wids = sandbox.data.customer_wids[1:4]
    assert run_cli(env, "sync", "--type", "source-id", "--yes", *wids).returncode == 0
    before = store(env, wids)
    for wid in wids:
        change_on_workday(sandbox.data, wid, "V2")
    assert run_cli(env, "sync", "--type", "source-id", "--yes", *wids).returncode == 0
    return wids, before


def test_restore_asks_then_puts_back_the_run_and_history_shows_it(
    env: dict[str, str], two_syncs: tuple[list[str], dict[str, Any]]
) -> None:
    wids, before = two_syncs
    declined = run_cli(env, "restore", "2", stdin="n\n")
    assert declined.returncode == 1
    assert "This puts back 3 customers and all their invoices, payments and credit notes as they were " in (
        declined.stdout
    )
    assert store(env, wids) != before

    result = run_cli(env, "restore", "2", "--as", "ana", stdin="y\n")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Run 3: Completed" in result.stdout
    assert store(env, wids) == before
    history = json.loads(run_cli(env, "history", "--json").stdout)
    assert [(run["id"], run["kind"], run["source_run_id"]) for run in history] == [
        (3, "restore", 2),
        (2, "sync", None),
        (1, "sync", None),
    ]
    assert history[0]["requested_by"] == "cli:ana"
    assert history[0]["counts"]["customers"] == 3
    assert history[0]["counts"]["invoices"] == sum(len(content[1]) for content in before.values())
    assert "Restore of #2" in run_cli(env, "history").stdout


def test_customers_overwritten_since_are_listed_and_left_unless_forced(
    sandbox: Sandbox, env: dict[str, str], two_syncs: tuple[list[str], dict[str, Any]]
) -> None:
    wids, before = two_syncs
    change_on_workday(sandbox.data, wids[0], "V3")
    assert run_cli(env, "sync", "--type", "source-id", "--yes", wids[0]).returncode == 0
    newest = store(env, [wids[0]])

    result = run_cli(env, "restore", "2", "--yes")

    assert result.returncode == 1, result.stdout + result.stderr
    listed = result.stdout.split("left as they are")[1].split("customers to restore")[0]
    assert wids[0] in listed and "as run 3 wrote it" in listed
    assert all(wid not in listed for wid in wids[1:])
    assert store(env, wids) == {**before, **newest}

    label = sandbox.data.customer(wids[0]).customer_id or ""
    forced = run_cli(env, "restore", "2", "--customer", label, "--force", "--yes")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert store(env, wids) == before


def test_a_customer_the_run_kept_no_copy_of_is_named_and_nothing_changes(
    env: dict[str, str], two_syncs: tuple[list[str], dict[str, Any]]
) -> None:
    wids, _ = two_syncs
    after = store(env, wids)
    result = run_cli(env, "restore", "2", "--customer", "C-NOPE", "--yes")
    assert result.returncode == 2
    assert "Error: Run 2 kept no previous copy of: 'C-NOPE'." in result.stderr
    assert store(env, wids) == after
    assert len(json.loads(run_cli(env, "history", "--json").stdout)) == 2


def test_sync_preview_prints_the_diff_asks_and_applies_what_it_showed(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    wids = sandbox.data.customer_wids[1:4]
    assert run_cli(env, "sync", "--type", "source-id", "--yes", *wids[:2]).returncode == 0
    imported = store(env, wids)
    change_on_workday(sandbox.data, wids[0], "V2")

    declined = run_cli(env, "sync", "--type", "source-id", "--preview", *wids, stdin="n\n")

    assert declined.returncode == 1
    table = declined.stdout.split("what applying it would change")[1]
    label = sandbox.data.customer(wids[0]).customer_id or ""
    assert f"{label} (details changed)" in table
    assert "(new customer)" in table and "Total" in table
    assert "Apply this preview? This re-imports and overwrites 3 customers" in declined.stdout
    assert store(env, wids) == imported  # a preview writes nothing

    applied = run_cli(env, "sync", "--type", "source-id", "--preview", *wids, stdin="y\n")

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert store(env, wids) == {wid: without_fetched_at(sandbox.data.snapshot(wid)) for wid in wids}
    history = json.loads(run_cli(env, "history", "--json").stdout)
    kinds = [(run["kind"], run["source_run_id"]) for run in history]
    assert kinds == [("apply", 3), ("preview", None), ("preview", None), ("sync", None)]
