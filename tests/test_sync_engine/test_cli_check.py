"""`workday-resync check` as an operator runs it: a real process against the sandbox and a SQLite store."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from kits.cli import run_cli as cli

from sync_engine.workday.sandbox import Sandbox, SandboxData

LAST_VERIFIED = re.compile(r"Last verified\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxData.generate(customers=6, seed=4)) as sandbox:
        yield sandbox


@pytest.fixture
def environment(sandbox: Sandbox, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WORKDAY_", "REDIS_URL"))}
    env.update(sandbox.workday_env())
    env.update(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "WORKDAY_RATE_LIMIT": "100", "COLUMNS": "200"}
    )
    yield env
    sandbox.knobs.unauthorized_operations = set()


def test_connected_shows_tenant_version_last_verified_and_then_the_last_run(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    first = cli(environment, "check")

    assert first.returncode == 0, first.stdout + first.stderr
    assert "● Connected to Workday" in first.stdout
    assert re.search(rf"Tenant\s+{sandbox.tenant}", first.stdout)
    assert re.search(r"API version\s+v45\.2", first.stdout)
    assert LAST_VERIFIED.search(first.stdout)
    assert re.search(r"Last run\s+none yet", first.stdout)

    customer = sandbox.data.customers[0].customer_id or ""
    synced = cli(environment, "sync", "--type", "reference", customer, "--yes")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    again = cli(environment, "check")

    assert again.returncode == 0
    assert re.search(r"Last run\s+#1 Completed, .* Customers 1 ·", again.stdout)


def test_a_bad_client_secret_exits_non_zero_with_the_reason_and_no_secret(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    verified = LAST_VERIFIED.search(cli(environment, "check").stdout)
    assert verified is not None
    environment["WORKDAY_CLIENT_SECRET"] = "wrong-secret-value"

    result = cli(environment, "check")

    assert result.returncode == 1
    output = " ".join(result.stdout.split())
    assert "● Not connected to Workday" in output
    assert (
        "credentials rejected (invalid_client); check WORKDAY_CLIENT_ID and WORKDAY_CLIENT_SECRET" in output
    )
    # When it last worked is still shown: the store remembers it.
    assert f"Last verified {verified.group(1)}" in output
    assert "wrong-secret-value" not in result.stdout + result.stderr
    assert sandbox.refresh_token not in result.stdout + result.stderr


def test_an_operation_the_integration_user_may_not_call_is_named(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    sandbox.knobs.unauthorized_operations = {"Get_Customers"}

    result = cli(environment, "check")

    assert result.returncode == 1
    assert "The integration user is not authorized for Get_Customers:" in " ".join(result.stdout.split())


def test_missing_settings_are_named(environment: dict[str, str]) -> None:
    for name in ("WORKDAY_TENANT", "WORKDAY_REFRESH_TOKEN"):
        environment.pop(name)

    result = cli(environment, "check")

    assert result.returncode == 1
    output = " ".join(result.stdout.split())
    assert "Workday is not configured: set WORKDAY_TENANT, WORKDAY_REFRESH_TOKEN." in output
    assert re.search(r"Tenant\s+\(not set\)", result.stdout)
    assert "Traceback" not in result.stderr
