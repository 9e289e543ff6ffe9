"""Tools of the reliability tests: Dramatiq worker processes to kill, a Redis server of the test's own to
restart, and the "old or new, never a mix" check of every customer in the store.

The check works on two versions of Workday's data: the store is seeded with the *old* one, then the
sandbox's mutation API changes every customer and every one of its documents in a recognisable way
(a ` V2` marker in names, invoice numbers and payment memos, one document more, one fewer); a run then
syncs the *new* one. At any moment each customer in the store must equal, field by field, either its
old or its new snapshot.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import dramatiq
import redis
from kits.metrics import free_port
from kits.slack_bot import CHANNEL, fields
from kits.stack import FAST_RETRY, sandbox_settings, without_fetched_at
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from devtools.slack_emulator import SlackEmulator
from sync_engine import jobs
from sync_engine.broker import EmbeddedWorker, build_broker
from sync_engine.domain import BatchRun, CustomerSnapshot, IdentifierType, ItemStatus
from sync_engine.runtime import Runtime, configure
from sync_engine.service import RunService
from sync_engine.store.customers import load_customer, overwrite_customer
from sync_engine.store.database import Database
from sync_engine.store.models import Base, RunItemRow
from sync_engine.workday import RetryPolicy
from sync_engine.workday.sandbox import Sandbox, SandboxData
from sync_engine.workday_client import build_workday_client

T = TypeVar("T")

#: The marker the new version carries.
MARK = " V2"
#: When the old version was fetched: long before any run of the test.
OLD_FETCHED_AT = datetime(2020, 1, 1, tzinfo=UTC)


def wait_for(condition: Callable[[], T], timeout: float, what: str, every: float = 0.05) -> T:
    """Poll `condition` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def empty_store(database: Database) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with database.session() as session:
        session.execute(text("SET LOCAL lock_timeout = '10s'"))
        session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


#: Trials of the SIGKILL test; CI keeps the default, `RELIABILITY_TRIALS=10` (or more) for the full set.
TRIALS = int(os.environ.get("RELIABILITY_TRIALS", "3"))


@dataclass
class Client:
    """What the CLI or the Slack app holds: a run service sending to the broker, no worker."""

    rt: Runtime
    broker: dramatiq.Broker
    service: RunService

    def close(self) -> None:
        self.broker.close()
        self.rt.leases.stop()


def connect_client(sandbox: Sandbox, database: Database, redis_url: str) -> Client:
    rt = configure(Runtime(sandbox_settings(sandbox, database, redis_url), database))
    broker = build_broker(rt)
    return Client(rt, broker, RunService(database, jobs.DramatiqDispatcher(), rt.events))


# --- two versions of the data ------------------------------------------------------------------------


@dataclass
class Versions:
    """Each customer's old and new snapshot (content only, `fetched_at` left out)."""

    old: dict[str, Any]
    new: dict[str, Any]

    def classify(self, stored: dict[str, CustomerSnapshot | None]) -> dict[str, str]:
        """ "old", "new", "missing" or "MIXED" per customer."""
        verdicts: dict[str, str] = {}
        for wid, snapshot in stored.items():
            if snapshot is None:
                verdicts[wid] = "missing"
                continue
            content = without_fetched_at(snapshot)
            if content == self.new[wid]:
                verdicts[wid] = "new"
            elif content == self.old[wid]:
                verdicts[wid] = "old"
            else:
                verdicts[wid] = "MIXED"
        return verdicts


def seed_old_then_mutate(database: Database, data: SandboxData, wids: list[str]) -> Versions:
    """Store the customers as Workday has them now (the old version), then change every one of them on
    Workday: every document gets the marker, and each customer gains an invoice and loses a document."""
    old = {wid: data.snapshot(wid) for wid in wids}
    with database.session() as session:
        for wid in wids:
            snapshot = old[wid]
            overwrite_customer(
                session,
                CustomerSnapshot(
                    snapshot.customer,
                    snapshot.invoices,
                    snapshot.credit_notes,
                    snapshot.payments,
                    OLD_FETCHED_AT,
                ),
                run_id=None,
            )
    for wid in wids:
        snapshot = old[wid]
        data.update_customer(wid, name=snapshot.customer.name + MARK)
        for invoice in snapshot.invoices:
            data.update_document(invoice.wid, invoice_number=invoice.invoice_number + MARK)
        for note in snapshot.credit_notes:
            data.update_document(note.wid, invoice_number=note.credit_note_number + MARK)
        for payment in snapshot.payments:
            # Workday trims text values, so an empty memo becomes "V2".
            data.update_document(payment.wid, memo=f"{payment.memo or ''}{MARK}".strip())
        documents = [d.wid for d in snapshot.invoices] + [p.wid for p in snapshot.payments]
        if documents:
            data.delete_document(documents[-1])
        data.add_invoice(wid, invoice_number=f"NEW-{wid[:8]}{MARK}", total_amount=Decimal("12.34"))
    new = {wid: data.snapshot(wid) for wid in wids}
    return Versions(
        old={wid: without_fetched_at(snapshot) for wid, snapshot in old.items()},
        new={wid: without_fetched_at(snapshot) for wid, snapshot in new.items()},
    )


class StoreReader:
    """Reads every customer in one REPEATABLE READ transaction: one consistent moment of the store, even
    while workers commit (several statements under READ COMMITTED could straddle a commit)."""

    def __init__(self, database: Database) -> None:
        self._engine = create_engine(database.url, isolation_level="REPEATABLE READ")

    def read(self, wids: list[str]) -> dict[str, CustomerSnapshot | None]:
        return self.read_with_synced(wids, None)[0]

    def read_with_synced(
        self, wids: list[str], run_id: int | None
    ) -> tuple[dict[str, CustomerSnapshot | None], int]:
        """The customers, and how many items of `run_id` are synced, at the same moment (a killed
        worker's last COMMIT may still land after it died)."""
        with Session(self._engine) as session, session.begin():
            synced = session.scalar(
                select(func.count())
                .select_from(RunItemRow)
                .where(RunItemRow.run_id == run_id, RunItemRow.status == ItemStatus.SYNCED.value)
            )
            return {wid: load_customer(session, wid) for wid in wids}, int(synced or 0)

    def close(self) -> None:
        self._engine.dispose()


def assert_never_mixed(verdicts: dict[str, str], when: str) -> None:
    mixed = sorted(wid for wid, verdict in verdicts.items() if verdict == "MIXED")
    assert not mixed, f"{when}: {len(mixed)} customers hold a mix of old and new data: {mixed[:5]}"


# --- worker processes ---------------------------------------------------------------------------------


def worker_environment(sandbox: Sandbox, database: Database, redis_url: str, **extra: str) -> dict[str, str]:
    environment = {
        **os.environ,
        **sandbox.workday_env(),
        "DATABASE_URL": database.url,
        "REDIS_URL": redis_url,
        # The product's 5 requests/s would make each trial wait on the gate; caps have their own tests.
        "WORKDAY_RATE_LIMIT": "500",
        **extra,
    }
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        if name not in extra:
            environment.pop(name, None)
    return environment


class WorkerProcess:
    """`dramatiq sync_engine.worker_boot` (what `workday-resync worker` starts) in its own session."""

    def __init__(
        self,
        environment: dict[str, str],
        log: Path,
        *,
        threads: int = 4,
        queues: tuple[str, ...] = (jobs.QUEUE,),
    ) -> None:
        self.log = log
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dramatiq",
                "sync_engine.worker_boot",
                "--processes",
                "1",
                "--threads",
                str(threads),
                "--queues",
                *queues,
            ],
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker process dies wherever it was."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM the main process, as a deployment stops it; wait for a graceful exit."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.kill()


@contextmanager
def worker(environment: dict[str, str], log: Path, *, threads: int = 4) -> Iterator[WorkerProcess]:
    process = WorkerProcess(environment, log, threads=threads)
    try:
        yield process
    finally:
        process.kill()


# --- a Redis server of the test's own -----------------------------------------------------------------


class PrivateRedis:
    """redis-server on a free port, without persistence: a restart loses everything, as a crash would."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self._binary = binary
        self._directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                    probe.sendall(b"PING\r\n")
                    return probe.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_for(answers, 10, "redis-server to answer")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


# --- an engine with its Dramatiq worker in this process -----------------------------------------------


@dataclass
class Engine:
    """Sandbox, store, Redis broker and a real Dramatiq worker (threads of this process)."""

    sandbox: Sandbox
    database: Database
    rt: Runtime
    broker: dramatiq.Broker
    service: RunService
    worker: EmbeddedWorker

    def drain(self) -> None:
        """Wait until every queued message has been processed."""
        self.worker.join()

    def submit(self, wids: list[str], requested_by: str = "U_TEST") -> int:
        return self.service.submit(IdentifierType.SOURCE_ID, wids, requested_by=requested_by).id

    def wait(self, run_id: int, timeout: float = 60) -> BatchRun:
        wait_for(lambda: self.service.get(run_id).is_final, timeout, f"run {run_id} to finish")
        return self.service.get(run_id)


@contextmanager
def engine(
    data: SandboxData,
    database: Database,
    redis_url: str,
    *,
    retry: RetryPolicy = FAST_RETRY,
    threads: int = 4,
    **settings: Any,
) -> Iterator[Engine]:
    with Sandbox(data) as sandbox:
        configured = sandbox_settings(sandbox, database, redis_url).model_copy(
            update={"worker_threads": threads, **settings}
        )
        rt = configure(Runtime(configured, database))
        client = build_workday_client(configured, retry=retry)
        rt.workday_client = client
        broker = build_broker(rt)
        service = RunService(database, jobs.DramatiqDispatcher(), rt.events)
        try:
            with EmbeddedWorker(rt, broker, threads=threads) as worker:
                yield Engine(sandbox, database, rt, broker, service, worker)
        finally:
            broker.close()
            client.close()
            rt.leases.stop()


def live_workers(redis_url: str) -> int:
    """Worker processes that have consumed from the broker (Dramatiq's heartbeats)."""
    return int(redis.Redis.from_url(redis_url).zcard("dramatiq:__heartbeats__"))


def status_shown(slack: SlackEmulator) -> str:
    """The Status field of the app's status message in the test channel ("" before it is posted)."""
    posted = [m for m in slack.messages(CHANNEL) if m["user"] == slack.bot_user_id and m["blocks"]]
    return fields(posted[0]["blocks"]).get("Status", "") if posted else ""
