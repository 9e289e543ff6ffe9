"""`workday-resync sync --reason`, `history --search` and RESYNC_REQUIRE_REASON, as an admin uses them: a
real process against the sandbox and a SQLite store."""

from __future__ import annotations

from kits.cli import history_json as history
from kits.cli import run_cli as cli

from sync_engine.workday.sandbox import Sandbox


def test_the_reason_is_kept_shown_in_history_and_found_by_search(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    first, second = (customer.customer_id or "" for customer in sandbox.data.customers[:2])
    synced = cli(
        environment, "sync", "--type", "reference", first, "--reason", " INC-42 [b]50%[/b] ", "--yes"
    )
    assert synced.returncode == 0, synced.stdout + synced.stderr
    other = cli(environment, "sync", "--type", "reference", second, "--yes")
    assert other.returncode == 0, other.stdout + other.stderr

    newest, oldest = history(environment)
    assert (oldest["reason"], newest["reason"]) == ("INC-42 [b]50%[/b]", None)  # trimmed, else verbatim
    table = cli(environment, "history")
    assert "Run 1 reason: INC-42 [b]50%[/b]" in table.stdout  # Rich markup in it shown as typed
    assert "Run 2 reason" not in table.stdout

    assert [run["id"] for run in history(environment, "--search", "inc-42")] == [1]
    assert [run["id"] for run in history(environment, "--search", second.lower())] == [2]
    assert [run["id"] for run in history(environment, "--search", "50%[")] == [1]
    assert [run["id"] for run in history(environment, "--search", "cli:")] == [2, 1]
    assert history(environment, "--search", "%%") == []  # literal: no run holds two in a row


def test_a_required_reason_refuses_a_sync_without_one_and_changes_nothing(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    environment["RESYNC_REQUIRE_REASON"] = "true"
    ids = [customer.customer_id or "" for customer in sandbox.data.customers[:2]]
    requests = sandbox.stats.total()

    for reason in ([], ["--reason", "   "]):
        refused = cli(environment, "sync", "--type", "reference", *ids, *reason, "--yes")

        assert refused.returncode == 2
        assert "A reason is required (RESYNC_REQUIRE_REASON is on)" in " ".join(refused.stderr.split())
        assert "Traceback" not in refused.stderr
    assert history(environment) == []
    assert sandbox.stats.total() == requests

    accepted = cli(environment, "sync", "--type", "reference", *ids, "--reason", "INC-7", "--yes")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert [run["reason"] for run in history(environment)] == ["INC-7"]


def test_a_reason_too_long_is_refused_before_anything_is_asked(environment: dict[str, str]) -> None:
    refused = cli(environment, "sync", "--type", "reference", "C-000001", "--reason", "x" * 501)

    assert refused.returncode == 2
    assert "The reason is 501 characters long: at most 500." in " ".join(refused.stderr.split())
    assert history(environment) == []


def test_an_empty_search_is_refused(environment: dict[str, str]) -> None:
    refused = cli(environment, "history", "--search", " ")

    assert refused.returncode == 2
    assert "The search is empty" in refused.stderr
