"""A run against a Workday that stops answering ends in Error saying so, within bounded time, instead of
holding its worker (and the tenant's request slots) for an hour. And a run over customers paid by a parent
stores each payment once, under the customer it belongs to. Both stacks; short test timeouts, figures
printed (`pytest -s`)."""

from __future__ import annotations

import time

from kits.stack import FAST_RETRY, Stack, assert_store_matches_workday, expected_counts

from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.store.customers import load_customer
from sync_engine.workday_client import build_workday_client

SRC = IdentifierType.SOURCE_ID


def use_short_timeouts(
    stack: Stack, timeout: float = 0.5, contended: float = 0.2, customers_per_group: int = 50
) -> None:
    """The product's client, with a Workday timeout of half a second (it waits 120 s)."""
    settings = stack.settings.model_copy(
        update={
            "workday_timeout": timeout,
            "workday_contended_timeout": contended,
            "workday_customers_per_group": customers_per_group,
        }
    )
    # The fixture closes the client it made; the runtime closes this one.
    stack.rt.workday_client = build_workday_client(settings, retry=FAST_RETRY)


def hang(stack: Stack) -> None:
    stack.sandbox.knobs.timeout_rate = 1.0
    stack.sandbox.knobs.hang_seconds = 600.0  # released when the sandbox closes


def test_a_run_against_a_hung_workday_ends_in_error_saying_so(stack: Stack) -> None:
    use_short_timeouts(stack)
    hang(stack)
    wids = [customer.wid for customer in stack.sandbox.data.customers[1:4]]

    started = time.monotonic()
    run = stack.run(SRC, wids, timeout=120)
    elapsed = time.monotonic() - started

    print(
        f"\nWorkday hung from the start (timeout 0.5 s): run in Error {elapsed:.2f} s after it was submitted"
    )
    assert run.status is RunStatus.ERROR
    assert run.error is not None and run.error.startswith("Workday stopped answering: Get_Customers")


def test_a_workday_hanging_mid_run_stops_the_run_and_keeps_what_synced(stack: Stack) -> None:
    # Timeouts well above the latency: before the hang, a loaded machine's slow answer is no hang.
    # Groups of 2: customers are written group by group, so the hang can begin mid-run.
    use_short_timeouts(stack, timeout=2.0, contended=1.0, customers_per_group=2)
    stack.sandbox.knobs.latency = 0.2  # slow enough for the hang to start mid-run
    wids = [customer.wid for customer in stack.sandbox.data.customers[1:21]]
    submitted = stack.service.submit(SRC, wids, requested_by="U_TEST")
    while (before := stack.service.get(submitted.id)).counts.customers == 0 and not before.is_final:
        time.sleep(0.01)
    assert not before.is_final, f"the run ended before the hang: {before.error}"
    hang(stack)
    hung_at = time.monotonic()

    run = stack.wait(submitted.id, timeout=120)
    elapsed = time.monotonic() - hung_at

    print(f"\nWorkday hung mid-run (timeout 2 s, 1 s contended): Error {elapsed:.2f} s after the hang began")
    assert run.status is RunStatus.ERROR
    assert run.error is not None and run.error.startswith("Workday stopped answering: ")
    assert f"The run stopped: {run.counts.customers} of 20 customers synced and kept" in run.error
    assert 0 < run.counts.customers < 20


def test_payments_a_parent_made_are_stored_once_under_their_customer(stack: Stack) -> None:
    data = stack.sandbox.data
    groups = data.shape_payers(2)
    wids = [wid for group in groups for wid in group]

    run = stack.run(SRC, wids)

    assert run.status is RunStatus.COMPLETED, run.error
    assert run.counts == expected_counts(data, wids)
    assert_store_matches_workday(stack.database, data, wids)
    for parent, first, _ in groups:
        with stack.database.session() as session:
            stored = load_customer(session, first)
        assert stored is not None and stored.customer.payer_wid == parent
