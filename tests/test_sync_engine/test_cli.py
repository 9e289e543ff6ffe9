"""The terminal CLI as an admin uses it: a real process against the sandbox and a SQLite store."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from kits.cli import history_json as history
from kits.cli import run_cli as cli

from sync_engine.workday.sandbox import Sandbox

WARNING_START = (
    "This re-imports and overwrites 2 customers and all their invoices, payments and credit notes."
)


def test_sync_shows_the_warning_syncs_and_history_and_records_tell_the_run(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    first, second = sandbox.data.customers[1], sandbox.data.customers[2]
    ids = [first.customer_id or "", second.customer_id or ""]

    result = cli(environment, "sync", "--type", "reference", *ids, stdin="y\n")

    assert result.returncode == 0, result.stdout + result.stderr
    assert WARNING_START in " ".join(result.stdout.split())
    assert "Completed" in result.stdout
    [run] = history(environment)
    invoices = sum(sandbox.data.counts(c.wid)[0] for c in (first, second))
    payments = sum(sandbox.data.counts(c.wid)[1] for c in (first, second))
    credit_notes = sum(sandbox.data.counts(c.wid)[2] for c in (first, second))
    assert run["status"] == "completed"
    assert run["identifier_type"] == "reference"
    assert run["identifiers"] == ids
    assert run["counts"] == {
        "customers": 2,
        "invoices": invoices,
        "payments": payments,
        "credit_notes": credit_notes,
    }
    assert run["error"] is None and run["unresolved"] == []
    assert str(run["created_at"]).endswith("+00:00")
    assert set(run) == {
        "id", "created_at", "started_at", "finished_at", "duration_seconds", "status", "identifier_type",
        "identifiers", "requested_by", "counts", "error", "unresolved", "unresolved_count", "kind",
        "source_run_id", "rerun_of", "approval", "approved_by", "approved_at", "skipped", "stopped_by",
        "stopped_at", "reason",
    }  # fmt: skip
    assert (run["skipped"], run["stopped_by"], run["stopped_at"]) == ([], None, None)
    assert (run["kind"], run["source_run_id"], run["rerun_of"]) == ("sync", None, None)
    assert cli(environment, "records", str(run["id"])).stdout == "".join(f"{i}\n" for i in ids)


def test_declining_the_warning_changes_nothing(sandbox: Sandbox, environment: dict[str, str]) -> None:
    ids = [c.customer_id or "" for c in sandbox.data.customers[:2]]
    requests_before = sandbox.stats.total()

    result = cli(environment, "sync", "--type", "reference", *ids, stdin="n\n")

    assert result.returncode == 1
    assert history(environment) == []
    assert sandbox.stats.total() == requests_before


BAD_WID = "Not a Workday ID (32 hexadecimal characters): line 1 (C-000001)"
TOO_MANY = "\n".join(f"C-{n}" for n in range(101))


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--type", "source-id", "C-000001"], "", BAD_WID),
        (["--type", "reference", "--file", "-"], TOO_MANY, "Too many identifiers: 101 (blanks"),
        (["--type", "reference", "--file", "-"], "\n \n", "stdin holds no identifiers"),
    ],
)
def test_bad_input_gets_a_specific_message_and_writes_nothing(
    environment: dict[str, str], args: list[str], stdin: str, message: str
) -> None:
    result = cli(environment, "sync", *args, "--yes", stdin=stdin)

    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert history(environment) == []


def test_missing_workday_settings_are_named_in_one_line(environment: dict[str, str]) -> None:
    for name in ("WORKDAY_BASE_URL", "WORKDAY_CLIENT_SECRET"):
        environment.pop(name)

    result = cli(environment, "sync", "--type", "reference", "C-1", "--yes")

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "WORKDAY_BASE_URL" in line and "WORKDAY_CLIENT_SECRET" in line


def test_a_malformed_setting_is_named(environment: dict[str, str]) -> None:
    environment["WORKDAY_API_VERSION"] = "latest"

    result = cli(environment, "history")

    assert result.returncode == 2
    assert result.stderr.strip().startswith("Error: Invalid setting WORKDAY_API_VERSION")


def test_one_customer_is_one_customer_and_the_type_may_be_capitalised(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    result = cli(
        environment, "sync", "--type", "Reference", sandbox.data.customers[0].customer_id or "", "--yes"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 customer selected.\n")


def test_an_unknown_type_is_refused_with_the_choices(environment: dict[str, str]) -> None:
    result = cli(environment, "sync", "--type", "wid", "C-1", "--yes")

    assert result.returncode == 2
    said = " ".join(result.stderr.replace("│", " ").split())
    assert "Invalid value for '--type': 'wid' is not one of 'source-id' or 'reference'." in said
    assert "Value error" not in said


def test_an_empty_file_is_named(environment: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "wids.txt"
    empty.write_text("\n  \n")

    result = cli(environment, "sync", "--type", "source-id", "--file", str(empty), "--yes")

    assert result.returncode == 2
    assert result.stderr.strip() == f"Error: {empty} holds no identifiers: put them one per line."


def test_workday_ids_given_as_references_get_a_hint(sandbox: Sandbox, environment: dict[str, str]) -> None:
    wid = sandbox.data.customers[0].wid

    result = cli(environment, "sync", "--type", "reference", wid, "--yes")

    said = " ".join(result.stdout.split())
    hint = (
        "These look like Workday IDs (32 hexadecimal characters): if they are, use --type source-id instead."
    )
    assert said.count(hint) == 2, said  # before the run, and under the identifiers Workday did not know
    assert f"Not found on Workday (1): {wid}" in said


def test_history_shows_when_each_run_started_and_ended_how_long_it_took_and_what_was_not_found(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    known = sandbox.data.customers[0].customer_id or ""
    assert cli(environment, "sync", "--type", "reference", known, "C-404404", "--yes").returncode == 0

    [run] = history(environment)
    table = cli(environment, "history").stdout

    started = datetime.fromisoformat(str(run["started_at"]))
    finished = datetime.fromisoformat(str(run["finished_at"]))
    assert started.utcoffset() == finished.utcoffset() == timedelta(0)
    assert datetime.fromisoformat(str(run["created_at"])) <= started <= finished
    assert run["duration_seconds"] == round((finished - started).total_seconds(), 3)
    assert run["unresolved"] == ["C-404404"] and run["unresolved_count"] == 1
    header, row = (line.split() for line in table.splitlines() if line.strip().startswith(("Run ", "1 ")))
    assert header[:6] == ["Run", "Created", "(UTC)", "Status", "Duration", "Type"]
    assert "Not" in header and "found" in header
    assert row[3:6] == ["Completed", f"{run['duration_seconds']:.1f}", "s"]
    # Customers and invoices, then (after payments and credit notes) not found.
    assert row[7:9] == ["1", str(sandbox.data.counts(sandbox.data.customers[0].wid)[0])]
    assert row[11] == "1"
