"""The terminal CLI as an admin uses it: a real process against the sandbox and a SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync_engine.workday.sandbox import Sandbox, SandboxData

WARNING_START = (
    "This re-imports and overwrites 2 customers and all their invoices, payments and credit notes."
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxData.generate(customers=12, seed=3)) as sandbox:
        yield sandbox


@pytest.fixture
def environment(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WORKDAY_", "REDIS_URL"))}
    env.update(sandbox.workday_env())
    env.update(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "WORKDAY_RATE_LIMIT": "100", "COLUMNS": "200"}
    )
    return env


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync_engine", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def history(env: dict[str, str]) -> list[dict[str, object]]:
    result = cli(env, "history", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


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
        "id", "created_at", "status", "identifier_type", "identifiers", "requested_by", "counts", "error",
        "unresolved", "kind", "source_run_id",
    }  # fmt: skip
    assert (run["kind"], run["source_run_id"]) == ("sync", None)
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
        (["--type", "reference", "--file", "-"], TOO_MANY, "Too many identifiers. Maximum 100."),
        (["--type", "reference", "--file", "-"], "\n \n", "Enter at least one identifier"),
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
