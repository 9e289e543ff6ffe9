"""A 100-customer batch against the sandbox takes exactly the fewest requests possible (wire contract §4)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from devtools.bench.minimum import minimum_requests
from sync_engine.domain import IdentifierType
from sync_engine.workday import RetryPolicy, WorkdayClient
from sync_engine.workday.sandbox import Sandbox, SandboxData


# One tenant for the module (not conftest's, one per test): its tests only read it.
@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxData.generate(customers=100, seed=11)) as running:
        yield running


@pytest.mark.parametrize(
    ("identifier_type", "invalid"), [(IdentifierType.REFERENCE, 0), (IdentifierType.SOURCE_ID, 5)]
)
def test_a_batch_takes_the_minimum_number_of_requests(
    sandbox: Sandbox, identifier_type: IdentifierType, invalid: int, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.stats.reset()
    customers = sandbox.data.customers[: 100 - invalid]
    if identifier_type is IdentifierType.REFERENCE:
        identifiers = [c.customer_id or "" for c in customers]
    else:
        identifiers = [c.wid for c in customers]
    # Invalid ones spread through the batch.
    for position in range(invalid):
        identifiers.insert(position * 19 + 3, f"{position:032x}")
    assert len(identifiers) == 100
    settings = sandbox.workday_settings(rate_limit=1000.0, max_in_flight=4)

    started = time.monotonic()
    with WorkdayClient(settings, retry=RetryPolicy(initial_wait=0.01, max_wait=0.05)) as client:
        resolution = client.resolve_customers(identifiers, identifier_type)
        # As the Dramatiq worker threads of one process would: one shared client, 8 customers at once.
        with ThreadPoolExecutor(8) as workers:
            snapshots = list(workers.map(client.fetch_customer, resolution.found.values()))
        made = sum(client.request_counts.values())
        counts = dict(client.request_counts)
    elapsed = time.monotonic() - started

    assert len(resolution.found) == 100 - invalid and len(resolution.unresolved) == invalid
    for snapshot in snapshots:
        expected = sandbox.data.snapshot(snapshot.customer.wid)
        assert (snapshot.invoices, snapshot.credit_notes, snapshot.payments) == (
            expected.invoices,
            expected.credit_notes,
            expected.payments,
        )
    documents = []
    for customer in customers:
        invoices, payments, credit_notes = sandbox.data.counts(customer.wid)
        documents.append((invoices + credit_notes, payments))
    minimum = minimum_requests(len(identifiers), documents, retry_rounds=1 if invalid else 0)
    with capsys.disabled():
        print(
            f"\n{identifier_type.value} batch of 100 ({invalid} invalid): {made} requests made, "
            f"minimum {minimum} ({counts}), {elapsed:.1f} s"
        )
    assert made == minimum
    assert sandbox.stats.total() == minimum
    assert sandbox.max_in_flight_seen <= 4
