"""Test harness: a whole engine (store, Workday sandbox over sockets, broker, real Dramatiq worker).

Two stacks: SQLite with the embedded in-memory broker (the product's defaults), and PostgreSQL with a
real Redis broker (a deployment).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import dramatiq

from sync_engine.broker import EmbeddedWorker
from sync_engine.domain import BatchRun, CustomerSnapshot, IdentifierType, RunCounts
from sync_engine.runtime import Runtime
from sync_engine.service import RunService
from sync_engine.settings import Settings
from sync_engine.store.customers import load_customer
from sync_engine.store.database import Database
from sync_engine.workday import RetryPolicy
from sync_engine.workday.sandbox import Sandbox, SandboxData

#: Retries fast enough for tests (the product waits seconds between attempts).
FAST_RETRY = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05)


@dataclass
class Stack:
    database: Database
    sandbox: Sandbox
    settings: Settings
    rt: Runtime
    broker: dramatiq.Broker
    service: RunService
    worker: EmbeddedWorker

    def run(self, identifier_type: IdentifierType, identifiers: list[str], timeout: float = 60) -> BatchRun:
        run = self.service.submit(identifier_type, identifiers, requested_by="U_TEST")
        return self.wait(run.id, timeout)

    def wait(self, run_id: int, timeout: float = 60) -> BatchRun:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.service.get(run_id)
            if run.is_final:
                return run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} still {self.service.get(run_id).status} after {timeout} s")

    def stored(self, wid: str) -> CustomerSnapshot | None:
        return stored_customer(self.database, wid)

    def drain(self) -> None:
        """Wait until the broker's queue is empty and the worker idle."""
        self.worker.join()


def sandbox_settings(sandbox: Sandbox, database: Database, redis_url: str | None) -> Settings:
    return Settings(
        database_url=database.url,
        redis_url=redis_url,
        workday_base_url=sandbox.base_url,
        workday_tenant=sandbox.tenant,
        workday_client_id=sandbox.client_id,
        workday_client_secret=sandbox.client_secret,  # type: ignore[arg-type]
        workday_refresh_token=sandbox.refresh_token,  # type: ignore[arg-type]
        worker_threads=4,
        # The product's 5 requests/s would make every test wait on the gate; caps have their own tests.
        workday_rate_limit=500,
        # The sandbox shares our clock; tests fetch what they entered a moment before.
        workday_as_of_lag=0,
    )


def without_fetched_at(snapshot: CustomerSnapshot | None) -> Any:
    """A snapshot's content, documents in wid order, for comparing the store with Workday."""
    assert snapshot is not None

    def by_wid(documents: list[Any]) -> list[Any]:
        return sorted(documents, key=lambda document: document.wid)

    return (
        snapshot.customer,
        by_wid(snapshot.invoices),
        by_wid(snapshot.credit_notes),
        by_wid(snapshot.payments),
    )


def expected_counts(data: SandboxData, wids: list[str]) -> RunCounts:
    """The counts a run of these customers must end with: the sandbox's own data."""
    return data.run_counts(wids)


def stored_customer(database: Database, wid: str) -> CustomerSnapshot | None:
    with database.session() as session:
        return load_customer(session, wid)


def assert_store_matches_workday(database: Database, data: SandboxData, wids: list[str]) -> None:
    """Each customer and every one of its documents equal Workday's, field by field."""
    for wid in wids:
        assert without_fetched_at(stored_customer(database, wid)) == without_fetched_at(data.snapshot(wid))
