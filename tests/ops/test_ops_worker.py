"""What an operator sees of a run: Prometheus metrics scraped over HTTP and the workers' JSON logs.

One run, as deployed: the Slack app in this process (the `serve` role, with its GET /metrics), and two
`workday-resync worker` commands as on two hosts (one with two processes, one with one), each serving
its metrics on its own port; PostgreSQL, Redis, the Workday sandbox (throttling one request in ten) and
the Slack emulator over sockets. The run is requested through Slack and completes; then the numbers
are checked against what Workday and Slack themselves saw, and the logs line by line.
"""

from __future__ import annotations

import io
import json
import logging
import math
import shutil
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from kits.metrics import Samples, scrape
from kits.slack_bot import ADMIN, CHANNEL, Bot, final_status, request_run, running_bot
from kits.stack import expected_counts
from kits.workers import WorkerCommand, start_worker_command
from sqlalchemy import text

from devtools.slack_emulator import SlackEmulator
from sync_engine.domain import BatchRun, RunStatus
from sync_engine.logs import JsonFormatter
from sync_engine.store.database import Database
from sync_engine.store.models import Base
from sync_engine.workday.client import CUSTOMERS_PER_GROUP
from sync_engine.workday.sandbox import SandboxData

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(180)]

CUSTOMERS = 8
UNKNOWN_WID = "f" * 32
#: Events every run must log, each with its run id.
RUN_EVENTS = {
    "Resolved identifiers",
    "Run started",
    "Fetching customers",
    "Customer fetched",
    "Customer written",
    "Run finished",
    "Slack status posted",
    "Slack status updated",
}
CUSTOMER_EVENTS = {"Customer fetched", "Customer written"}


@dataclass
class Operated:
    bot: Bot
    run: BatchRun
    wids: list[str]
    hosts: list[WorkerCommand]
    #: Samples of the serve process (this one) before the run, to subtract.
    serve_before: Samples
    #: What Slack had answered before the run (the app's start-up calls).
    slack_before: dict[tuple[str, str], int]
    secrets: dict[str, str]
    #: What this process (the serve role) logged during the run, as JSON lines.
    serve_log: io.StringIO

    def worker_samples(self) -> Samples:
        """The sum over both hosts' endpoints."""
        total: Samples = {}
        for host in self.hosts:
            for key, amount in scrape(host.metrics_url).items():
                total[key] = total.get(key, 0.0) + amount
        return total

    def serve_samples(self) -> Samples:
        now = scrape(self.bot.server.url.replace("/slack/events", "/metrics"))
        return {key: value - self.serve_before.get(key, 0.0) for key, value in now.items()}

    def service_samples(self) -> Samples:
        """Every process of the service: the workers' endpoints and the serve process's."""
        total = self.worker_samples()
        for key, amount in self.serve_samples().items():
            total[key] = total.get(key, 0.0) + amount
        return total

    def slack_seen(self) -> dict[tuple[str, str], int]:
        """Web API requests Slack answered since the run was requested."""
        seen = slack_answered(self.bot.slack)
        return {
            key: n - self.slack_before.get(key, 0)
            for key, n in seen.items()
            if n > self.slack_before.get(key, 0)
        }

    def slack_counted(self) -> dict[tuple[str, str], int]:
        samples = self.service_samples()
        counted = by_label(samples, "workday_resync_slack_requests_total", "method", "outcome")
        return {(method, outcome): int(n) for (method, outcome), n in counted.items() if n}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def by_label(samples: Samples, name: str, *keys: str) -> dict[tuple[str, ...], float]:
    """Sum of `name`'s samples by the values of `keys`."""
    totals: dict[tuple[str, ...], float] = {}
    for (sample, labels), amount in samples.items():
        if sample == name and amount:
            key = tuple(dict(labels).get(label, "") for label in keys)
            totals[key] = totals.get(key, 0.0) + amount
    return totals


@contextmanager
def captured_log() -> Iterator[io.StringIO]:
    """This process's log events from INFO up, formatted as the product writes them off a terminal."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def settle(condition: Any, timeout: float) -> bool:
    """Wait until `condition()` holds (an endpoint not up yet counts as not yet); False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def slack_answered(slack: SlackEmulator) -> dict[tuple[str, str], int]:
    """Web API requests the emulator answered, by method and outcome (as our metrics label them)."""
    seen: Counter[tuple[str, str]] = Counter()
    for call in slack.calls:
        if call.method in ("response_url", "upload"):
            continue  # not Web API methods
        outcome = "rate_limited" if call.status == 429 else "ok" if call.ok else "error"
        seen[(call.method, outcome)] += 1
    return dict(seen)


@pytest.fixture(scope="module")
def operated(
    _migrated_postgres: Database, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Operated]:
    database = _migrated_postgres
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with database.session() as session:
        # Runs left unfinished by earlier tests would be resumed by our workers and counted.
        session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    redis.Redis.from_url(redis_url).flushdb()
    data = SandboxData.generate(customers=CUSTOMERS + 4, seed=21)
    workdir = tmp_path_factory.mktemp("ops")
    with SlackEmulator() as slack, captured_log() as serve_log:
        slack.add_user(ADMIN, name="ana", is_admin=True)
        slack.add_channel(CHANNEL, name="finance", bot_member=True)
        with running_bot(database, slack, data, redis_url, embedded_worker=False) as bot:
            bot.sandbox.knobs.rest_429_rate = 0.1
            bot.sandbox.knobs.soap_500_rate = 0.1
            bot.sandbox.knobs.fault_seed = 7
            serve_before = scrape(bot.server.url.replace("/slack/events", "/metrics"))
            slack_before = slack_answered(slack)
            hosts = [
                start_worker_command(bot.settings, database, workdir / "host-a", processes=2),
                start_worker_command(bot.settings, database, workdir / "host-b", processes=1),
            ]
            try:
                for host in hosts:
                    assert settle(lambda host=host: scrape(host.metrics_url) is not None, 60), (
                        host.output.read_text()
                    )
                wids = [customer.wid for customer in data.customers[:CUSTOMERS]]
                run = request_run(bot, [*wids, UNKNOWN_WID], kind="source_id")
                final_status(bot, run.id)
                token_state = redis.Redis.from_url(redis_url).get(
                    f"workday-resync:token:{bot.sandbox.tenant}"
                )
                assert token_state is not None
                operated = Operated(
                    bot=bot,
                    run=bot.service.get(run.id),
                    wids=wids,
                    hosts=hosts,
                    serve_before=serve_before,
                    slack_before=slack_before,
                    serve_log=serve_log,
                    secrets={
                        "Workday client secret": bot.sandbox.client_secret,
                        "Workday refresh token": bot.sandbox.refresh_token,
                        "Workday access token": json.loads(token_state)["access_token"],
                        "Slack bot token": slack.bot_token,
                        "Slack signing secret": slack.signing_secret,
                    },
                )
                # The records file and the last update may follow the final status by a moment.
                # (If they never match, test_slack_requests_by_method… shows the difference.)
                settle(lambda: operated.slack_counted() == operated.slack_seen(), 30)
                yield operated
            finally:
                for host in hosts:
                    host.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_the_run_completes_with_the_unknown_wid_listed(operated: Operated) -> None:
    run = operated.run
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.unresolved == [UNKNOWN_WID]
    assert run.counts == expected_counts(operated.bot.sandbox.data, operated.wids)


def test_worker_metrics_count_the_run_customers_and_documents(operated: Operated) -> None:
    samples = operated.worker_samples()
    counts = expected_counts(operated.bot.sandbox.data, operated.wids)

    assert value(samples, "workday_resync_runs_total", status="completed") == 1
    assert value(samples, "workday_resync_runs_total", status="error") == 0
    assert value(samples, "workday_resync_run_duration_seconds_count", status="completed") == 1
    duration = value(samples, "workday_resync_run_duration_seconds_sum", status="completed")
    assert duration == pytest.approx(operated.run.duration_seconds, abs=0.01)
    assert value(samples, "workday_resync_customers_total", outcome="synced") == CUSTOMERS
    assert value(samples, "workday_resync_customers_total", outcome="unresolved") == 1
    assert value(samples, "workday_resync_customers_total", outcome="failed") == 0
    assert by_label(samples, "workday_resync_documents_synced_total", "type") == {
        ("invoice",): counts.invoices,
        ("payment",): counts.payments,
        ("credit_note",): counts.credit_notes,
    }
    # Dramatiq's own middleware reports through the same endpoint.
    sync_messages = value(
        samples, "dramatiq_messages_total", queue_name="workday_resync", actor_name="sync_customers"
    )
    assert sync_messages >= math.ceil(CUSTOMERS / CUSTOMERS_PER_GROUP)  # one group per 50 customers


def test_workday_requests_by_operation_and_outcome_equal_what_workday_answered(operated: Operated) -> None:
    # The workers sync; the app checks the connection when the form opens.
    samples = operated.service_samples()
    stats = operated.bot.sandbox.stats
    counted = by_label(samples, "workday_resync_workday_requests_total", "operation", "outcome")
    answered = {
        (entry.operation, entry.outcome): stats.count(entry.operation, entry.outcome) for entry in stats.log
    }

    assert counted == answered
    throttled = {op: n for (op, outcome), n in counted.items() if outcome == "throttled"}
    assert sum(throttled.values()) >= 1  # the sandbox did throttle: the check above saw that outcome
    assert ("Get_Customers", "fault") in counted  # the unknown WID's Invalid ID fault
    # Every throttled attempt was tried again (none ran out of attempts: the run completed).
    retries = by_label(samples, "workday_resync_workday_retries_total", "operation")
    assert retries == {(op,): n for op, n in throttled.items()}
    requests = by_label(samples, "workday_resync_workday_request_duration_seconds_count", "operation")
    assert requests == {(op,): sum(n for (o, _), n in counted.items() if o == op) for op, _ in counted}


def test_slack_requests_by_method_equal_what_slack_answered(operated: Operated) -> None:
    counted = operated.slack_counted()

    assert counted == operated.slack_seen()
    methods = {method for method, _ in counted}
    # The app's handlers (serve) and the status updates (workers) are both counted.
    assert {"views.open", "chat.postMessage", "chat.update"} <= methods


def test_the_serve_process_serves_its_metrics_and_health(operated: Operated) -> None:
    base = operated.bot.server.url.replace("/slack/events", "")
    samples = operated.serve_samples()

    assert value(samples, "workday_resync_runs_queued_total") == 1
    with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
        assert response.status == 200


def test_worker_output_is_json_lines_with_the_run_id_on_every_run_event(operated: Operated) -> None:
    run_id = operated.run.id
    events = []
    for host in operated.hosts:
        for line in host.output.read_text().splitlines():
            events.append(json.loads(line))  # every line, Dramatiq's own included, is JSON

    run_events = [event for event in events if event["event"] in RUN_EVENTS]
    assert {event["event"] for event in run_events} == RUN_EVENTS
    assert all(event.get("run_id") == run_id for event in run_events)
    for event in run_events:
        if event["event"] in CUSTOMER_EVENTS:
            assert event["wid"] in operated.wids
        if event["event"] == "Fetching customers":  # a group: its customers
            assert event["wids"] and set(event["wids"]) <= set(operated.wids)
    written = [event for event in run_events if event["event"] == "Customer written"]
    assert sorted(event["wid"] for event in written) == sorted(operated.wids)
    [finished] = [event for event in run_events if event["event"] == "Run finished"]
    counts = operated.run.counts
    assert finished["status"] == "completed"
    assert (finished["customers"], finished["invoices"], finished["payments"], finished["credit_notes"]) == (
        counts.customers,
        counts.invoices,
        counts.payments,
        counts.credit_notes,
    )
    assert "wid" not in finished
    # Retries happen in the Workday client's threads; they still name the run and the customer.
    retries = [event for event in events if "attempt" in event["event"] and "retrying" in event["event"]]
    customer_retries = [e for e in retries if e["operation"] in ("invoices", "Get_Customer_Payments")]
    assert customer_retries, "the sandbox throttled customers' requests: their retries must be logged"
    for event in retries:
        assert event["level"] == "warning"
        assert event["run_id"] == run_id
        if event["operation"] in ("invoices", "Get_Customer_Payments"):  # not resolving: a group's
            assert event["wids"] and set(event["wids"]) <= set(operated.wids)


def test_the_serve_log_names_the_run_from_its_request_on(operated: Operated) -> None:
    events = [json.loads(line) for line in operated.serve_log.getvalue().splitlines()]
    names = {"Run received", "Draft run stored", "Run confirmed", "Run queued"}

    run_events = [event for event in events if event["event"] in names]
    assert {event["event"] for event in run_events} == names
    assert all(event["run_id"] == operated.run.id for event in run_events)


def test_no_secret_in_any_output(operated: Operated) -> None:
    outputs = {str(host.output): host.output.read_text() for host in operated.hosts}
    outputs["the serve process's log"] = operated.serve_log.getvalue()
    for host in operated.hosts:
        outputs[host.metrics_url] = urllib.request.urlopen(host.metrics_url, timeout=10).read().decode()

    for secret_name, secret in operated.secrets.items():
        assert len(secret) >= 16
        for where, output in outputs.items():
            assert secret not in output, f"{secret_name} found in {where}"
