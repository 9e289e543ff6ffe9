"""An admin's stop of a run (`RunService.stop`): customers not started are skipped, the customer being
written finishes, the run ends Stopped by the stop itself with honest counts, and nothing runs after it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import dramatiq
import pytest
import redis
from kits.stack import FAST_RETRY, Stack, assert_store_matches_workday, expected_counts, sandbox_settings
from sqlalchemy import text

from sync_engine import jobs
from sync_engine.broker import EmbeddedWorker, build_broker
from sync_engine.domain import BatchRun, Customer, IdentifierType, RunKind, RunStatus
from sync_engine.preview_plan import PreviewRefusedError, plan_apply
from sync_engine.restore_plan import plan_restore
from sync_engine.runtime import Runtime, configure
from sync_engine.service import RunService
from sync_engine.stopping import stop_outcome
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import Sandbox, SandboxData
from sync_engine.workday_client import build_workday_client

T = TypeVar("T")
STOPPER = "U_STOPPER"


def wait_for(condition: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Wait for a state (a cap, never a figure the test checks)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"not reached in {timeout} s")


def small_customers(data: SandboxData, count: int, *, skip: int = 0) -> list[Customer]:
    """Customers fetched together in one group (none big enough to be fetched alone)."""
    small = [c for c in data.customers if c.customer_id and sum(data.counts(c.wid)) < 300]
    return small[skip : skip + count]


def references(customers: list[Customer]) -> list[str]:
    return [customer.customer_id or "" for customer in customers]


def test_a_stop_mid_run_keeps_what_was_written_and_nothing_runs_after_it(stack: Stack) -> None:
    customers = small_customers(stack.sandbox.data, 12)
    # A stop racing the last customers, at whatever point it lands: three runs, each stopped once a
    # customer is written.
    for trial in range(3):
        batch = customers[trial * 4 : trial * 4 + 4]
        run = stack.service.submit(IdentifierType.REFERENCE, references(batch), requested_by="U_TEST")
        wait_for(lambda: (now := stack.service.get(run.id)).counts.customers >= 1 or now.is_final)  # noqa: B023

        after, stopped = stack.service.stop(run.id, STOPPER)

        assert after.is_final  # ended by the stop itself: nothing left for a worker to close
        written = [c for c in batch if stack.stored(c.wid) is not None]
        assert_store_matches_workday(stack.database, stack.sandbox.data, [c.wid for c in written])
        assert after.counts == expected_counts(stack.sandbox.data, [c.wid for c in written])
        if stopped:
            assert after.status is RunStatus.STOPPED
            assert (after.stopped_by, after.finished_at) == (STOPPER, after.stopped_at)
            assert after.skipped == [ref for ref in references(batch) if ref not in references(written)]
            assert stop_outcome(after, stopped) == (
                f"Run {run.id} stopped: {len(written)} customers written and kept, "
                f"{len(after.skipped)} skipped (not started)."
            )
        else:  # its last customer was written before the stop came
            assert after.status is RunStatus.COMPLETED and written == batch
        stack.drain()
        assert stack.service.get(run.id) == after  # no job changed it since
        assert [c for c in batch if stack.stored(c.wid) is not None] == written


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_a_stop_waits_for_the_customer_being_written_and_skips_the_rest(stack: Stack) -> None:
    first, *others = small_customers(stack.sandbox.data, 4)
    assert stack.run(IdentifierType.REFERENCE, references([first])).status is RunStatus.COMPLETED

    def submit() -> BatchRun:
        return stack.service.submit(IdentifierType.REFERENCE, references([first, *others]), requested_by="U")

    after = _stopped_while_writing(stack, first, submit)

    assert after.counts == expected_counts(stack.sandbox.data, [first.wid])
    assert after.skipped == references(others)
    assert_store_matches_workday(stack.database, stack.sandbox.data, [first.wid])
    assert all(stack.stored(customer.wid) is None for customer in others)


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_a_restore_stopped_mid_run_puts_back_only_the_customer_being_written(stack: Stack) -> None:
    # A restore puts its customers back in wid order: the first is the one whose write is held.
    first, *others = sorted(small_customers(stack.sandbox.data, 4), key=lambda customer: customer.wid)
    imported = stack.run(IdentifierType.REFERENCE, references([first, *others]))
    assert imported.status is RunStatus.COMPLETED

    def submit() -> BatchRun:
        return stack.service.submit_restore(plan_restore(stack.database, imported.id), requested_by="cli:ana")

    after = _stopped_while_writing(stack, first, submit)

    # The run imported them: restoring the first removed it; the others, skipped, are still there.
    assert after.counts.customers == 1 and sorted(after.skipped) == sorted(c.wid for c in others)
    assert stack.stored(first.wid) is None
    assert_store_matches_workday(stack.database, stack.sandbox.data, [c.wid for c in others])


def _stopped_while_writing(stack: Stack, first: Customer, submit: Callable[[], BatchRun]) -> BatchRun:
    """Submit a run whose first customer's write waits mid-transaction (the test holds that customer's
    row), stop the run then, and return it as the stop left it: Stopped, that customer written."""
    with stack.database.engine.connect() as holder:
        holder.execute(text("SELECT 1 FROM customers WHERE wid = :wid FOR UPDATE"), {"wid": first.wid})
        run = submit()
        wait_for(lambda: _waiting(stack.database, "%customers%"))
        outcome: list[tuple[BatchRun, bool]] = []
        stopping = threading.Thread(target=lambda: outcome.append(stack.service.stop(run.id, STOPPER)))
        stopping.start()
        # The stop waits for that customer's write, which holds its item.
        wait_for(lambda: _waiting(stack.database, "UPDATE run_items SET status=%"))
        assert stack.service.get(run.id).status is RunStatus.IN_PROGRESS
        holder.rollback()
    stopping.join(timeout=60)
    [(after, stopped)] = outcome
    assert stopped and after.status is RunStatus.STOPPED
    stack.drain()  # the rest of the run's jobs find their items skipped and write nothing
    assert stack.service.get(run.id) == after
    return after


def _waiting(database: Database, query: str) -> bool:
    """Whether a session of this database waits for a lock in a statement like `query` (asked in a
    transaction of its own: PostgreSQL keeps one snapshot of pg_stat_activity per transaction)."""
    with database.engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE :query"
                ),
                {"query": query},
            ).scalar()
        )


def test_stopping_a_finished_run_changes_nothing(stack: Stack) -> None:
    done = stack.run(IdentifierType.REFERENCE, references(small_customers(stack.sandbox.data, 2)))

    assert stack.service.stop(done.id, STOPPER) == (done, False)
    assert stop_outcome(done, False) == f"Run {done.id} has already ended (Completed): nothing to stop."


@dataclass
class IdleEngine:
    """The engine with its broker and no worker yet: a run submitted stays Received."""

    service: RunService
    rt: Runtime
    broker: dramatiq.Broker
    sandbox: Sandbox


@pytest.fixture
def idle_engine(
    database: Database, sandbox_data: SandboxData, request: pytest.FixtureRequest, fast_job_retries: None
) -> Iterator[IdleEngine]:
    redis_url = request.getfixturevalue("redis_url") if database.dialect == "postgresql" else None
    if redis_url:
        redis.Redis.from_url(redis_url).flushdb()
    with Sandbox(sandbox_data) as sandbox:
        rt = configure(Runtime(sandbox_settings(sandbox, database, redis_url), database))
        client = build_workday_client(rt.settings, retry=FAST_RETRY)
        rt.workday_client = client
        broker = build_broker(rt)
        yield IdleEngine(RunService(database, jobs.DramatiqDispatcher(), rt.events), rt, broker, sandbox)
        broker.close()
        client.close()
        rt.leases.stop()


def test_a_received_run_stops_at_once_twice_clicked_once_and_its_queued_start_does_nothing(
    idle_engine: IdleEngine,
) -> None:
    engine = idle_engine
    batch = references(small_customers(engine.sandbox.data, 3))
    run = engine.service.submit(IdentifierType.REFERENCE, batch, requested_by="U_TEST")
    assert run.status is RunStatus.RECEIVED  # queued; no worker has taken it

    first, stopped = engine.service.stop(run.id, STOPPER)
    second, again = engine.service.stop(run.id, "U_SOMEONE_ELSE")  # a double click

    assert stopped and not again and second == first
    assert first.status is RunStatus.STOPPED and first.started_at is None
    assert (first.skipped, first.stopped_by, first.counts.customers) == (batch, STOPPER, 0)
    assert stop_outcome(second, again) == f"Run {run.id} was already stopped by {STOPPER}: nothing changed."

    # A worker now takes the run's queued start: it asks Workday nothing and changes nothing.
    with EmbeddedWorker(engine.rt, engine.broker, threads=2) as worker:
        worker.join()
    assert engine.sandbox.stats.total() == 0
    assert engine.service.get(run.id) == first


def test_a_stopped_preview_stages_nothing_and_cannot_be_applied(idle_engine: IdleEngine) -> None:
    engine = idle_engine
    batch = references(small_customers(engine.sandbox.data, 2))
    preview = engine.service.submit(IdentifierType.REFERENCE, batch, requested_by="U", kind=RunKind.PREVIEW)

    stopped, done = engine.service.stop(preview.id, STOPPER)
    with EmbeddedWorker(engine.rt, engine.broker, threads=2) as worker:
        worker.join()

    assert done and stopped.status is RunStatus.STOPPED and stopped.skipped == batch
    assert engine.sandbox.stats.total() == 0
    with pytest.raises(PreviewRefusedError, match=f"Preview {preview.id} is stopped: nothing to apply."):
        plan_apply(engine.rt.database, preview.id)
