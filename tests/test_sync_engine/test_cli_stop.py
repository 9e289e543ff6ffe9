"""`workday-resync stop` as an operator uses it: a real process on the store of runs left unfinished."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from kits.cli import run_cli as _cli
from kits.terminal import in_terminal

from sync_engine.domain import IdentifierType
from sync_engine.service import RunService
from sync_engine.settings import load_settings
from sync_engine.startup import open_engine
from sync_engine.workday.sandbox import Sandbox

CLI = [sys.executable, "-m", "sync_engine"]


def _runs(env: dict[str, str]) -> dict[int, dict[str, Any]]:
    result = _cli(env, "history", "--json")
    assert result.returncode == 0, result.stderr
    return {run["id"]: run for run in json.loads(result.stdout)}


@pytest.fixture
def queued(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[RunService]:
    """The store of `environment` with no worker: a run submitted stays Received (queued)."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    for name, value in environment.items():
        if name.startswith("WORKDAY_") or name == "DATABASE_URL":
            monkeypatch.setenv(name, value)
    with open_engine(load_settings(), work=False) as (service, _):
        yield service


def test_stop_asks_first_then_stops_a_received_run_and_history_shows_it(
    sandbox: Sandbox, environment: dict[str, str], queued: RunService
) -> None:
    references = [customer.customer_id or "" for customer in sandbox.data.customers[1:4]]
    run = queued.submit(IdentifierType.REFERENCE, references, requested_by="cli:ana")

    declined = _cli(environment, "stop", str(run.id), stdin="n\n")
    assert declined.returncode == 1
    assert "Stop run 1? Its customers not started yet are skipped" in " ".join(declined.stdout.split())
    assert _runs(environment)[1]["status"] == "received"

    stopped = _cli(environment, "stop", str(run.id), "--yes", "--as", "olga")

    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    said = " ".join(stopped.stdout.split())
    assert "Run 1 stopped: 0 customers written and kept, 3 skipped (not started)." in said
    assert f"Stopped by cli:olga; skipped (3): {', '.join(references)}" in said
    shown = _runs(environment)[1]
    assert shown["status"] == "stopped"
    assert (shown["skipped"], shown["stopped_by"]) == (references, "cli:olga")
    assert shown["stopped_at"] == shown["finished_at"] is not None
    assert shown["counts"]["customers"] == 0
    table = _cli(environment, "history")
    assert "Stopped" in table.stdout

    again = _cli(environment, "stop", "1", "--yes")
    assert again.returncode == 1
    assert again.stdout.strip() == "Run 1 was already stopped by cli:olga: nothing changed."
    assert _runs(environment)[1] == shown
    unknown = _cli(environment, "stop", "99", "--yes")
    assert (unknown.returncode, unknown.stderr.strip()) == (2, "Error: There is no batch run 99.")


def test_stop_ends_an_interrupted_run_keeping_what_it_synced(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    references = [customer.customer_id or "" for customer in sandbox.data.customers[0:6]]
    sandbox.knobs.latency = 0.2
    # One worker thread, one customer a request: Ctrl-C once one customer is done and others are not.
    slow = {**environment, "WORKER_THREADS": "1", "WORKDAY_CUSTOMERS_PER_GROUP": "1"}
    shown = in_terminal(
        [*CLI, "sync", "--type", "reference", *references, "--yes"],
        slow,
        interrupt_when=lambda text: "1/6" in text,
    )
    sandbox.knobs.latency = 0.0
    assert shown.returncode == 130, shown.text
    synced = _runs(environment)[1]["counts"]["customers"]

    stopped = _cli(environment, "stop", "1", "--yes")

    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    run = _runs(environment)[1]
    assert run["status"] == "stopped"
    assert 1 <= run["counts"]["customers"] == synced < 6
    assert len(run["skipped"]) == 6 - synced and set(run["skipped"]) < set(references)
