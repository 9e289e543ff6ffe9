"""The service's Prometheus metrics: every name is declared here, and how they are served.

Each process counts what it does. A process whose environment has PROMETHEUS_MULTIPROC_DIR before this
module is imported keeps its values in files in that directory (prometheus_client's multiprocess
mode), so that one endpoint serves the sum over every process of a host: `workday-resync worker` sets it
for its Dramatiq processes, whose endpoint is Dramatiq's own exposition server (`dramatiq[prometheus]`,
which adds the `dramatiq_*` metrics). `serve` keeps its values in memory and serves them itself.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
    values,
)

from sync_engine.errors import SettingsError
from sync_engine.settings import Settings

__all__ = [
    "CONTENT_TYPE_LATEST",
    "CustomerOutcome",
    "SlackOutcome",
    "WorkdayOutcome",
    "customer_done",
    "customer_failed",
    "exposition",
    "identifiers_unresolved",
    "run_finished",
    "run_queued",
    "serve_metrics",
    "slack_request",
    "workday_request",
    "workday_retry",
    "worker_environment",
    "worker_metrics_configured",
]

#: How one HTTP attempt to Workday ended: a response the client reads; throttled (HTTP 429, or a SOAP
#: HTTP 500 without a fault); another failure worth retrying (timeout, broken connection, 502/503/504,
#: a `Server` fault); an error answer that is not retried (HTTP 4xx, a SOAP `Client` fault).
WorkdayOutcome = Literal["ok", "throttled", "retried", "fault"]
#: What became of a customer of a run: written by a sync, staged by a preview, written by an apply, put
#: back by a restore (or failed, or not found on Workday: `customer_failed`, `identifiers_unresolved`).
CustomerOutcome = Literal["synced", "staged", "applied", "restored"]
#: How one HTTP request to Slack's Web API ended (`rate_limited`: HTTP 429).
SlackOutcome = Literal["ok", "error", "rate_limited"]

RUNS_QUEUED = Counter("workday_resync_runs_queued", "Runs confirmed and sent to the workers.")
RUNS = Counter("workday_resync_runs", "Runs finished, by final status.", ["status"])
RUN_DURATION = Histogram(
    "workday_resync_run_duration_seconds",
    "Seconds from a run's start (its creation if it never started) to its final state.",
    ["status"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, float("inf")),
)
CUSTOMERS = Counter(
    "workday_resync_customers",
    "Customers of runs, by outcome: synced, staged, applied, restored, failed, unresolved.",
    ["outcome"],
)
DOCUMENTS = Counter(
    "workday_resync_documents_synced",
    "Documents written with their customer, by type: invoice, payment, credit_note.",
    ["type"],
)
WORKDAY_REQUESTS = Counter(
    "workday_resync_workday_requests",
    "HTTP attempts to Workday, by operation and outcome (ok, throttled, retried, fault).",
    ["operation", "outcome"],
)
WORKDAY_RETRIES = Counter(
    "workday_resync_workday_retries", "Workday requests sent again after a failed attempt.", ["operation"]
)
WORKDAY_REQUEST_DURATION = Histogram(
    "workday_resync_workday_request_duration_seconds",
    "Seconds of one HTTP attempt to Workday, the wait for a slot of the request gate included.",
    ["operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, float("inf")),
)
SLACK_REQUESTS = Counter(
    "workday_resync_slack_requests",
    "HTTP requests to Slack's Web API, by method and outcome (ok, error, rate_limited).",
    ["method", "outcome"],
)


def run_queued() -> None:
    RUNS_QUEUED.inc()


def run_finished(status: str, seconds: float) -> None:
    RUNS.labels(status).inc()
    RUN_DURATION.labels(status).observe(seconds)


def customer_done(outcome: CustomerOutcome, *, invoices: int, payments: int, credit_notes: int) -> None:
    """A customer of a run written (synced, applied, restored) or staged by a preview, with its documents."""
    CUSTOMERS.labels(outcome).inc()
    if outcome == "staged":
        return  # a preview writes nothing: the documents count when its apply writes them
    DOCUMENTS.labels("invoice").inc(invoices)
    DOCUMENTS.labels("payment").inc(payments)
    DOCUMENTS.labels("credit_note").inc(credit_notes)


def customer_failed() -> None:
    CUSTOMERS.labels("failed").inc()


def identifiers_unresolved(count: int) -> None:
    CUSTOMERS.labels("unresolved").inc(count)


def workday_request(operation: str, outcome: WorkdayOutcome, seconds: float) -> None:
    WORKDAY_REQUESTS.labels(operation, outcome).inc()
    WORKDAY_REQUEST_DURATION.labels(operation).observe(seconds)


def workday_retry(operation: str) -> None:
    WORKDAY_RETRIES.labels(operation).inc()


def slack_request(method: str, outcome: SlackOutcome) -> None:
    SLACK_REQUESTS.labels(method, outcome).inc()


def _multiprocess() -> bool:
    # Chosen by prometheus_client when it was first imported, from PROMETHEUS_MULTIPROC_DIR.
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def _registry() -> CollectorRegistry:
    """What an endpoint serves: the sum of the directory's files in multiprocess mode, else this process."""
    if not _multiprocess():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def exposition() -> bytes:
    """The metrics in Prometheus' text format (serve with `CONTENT_TYPE_LATEST`)."""
    return generate_latest(_registry())


@contextmanager
def serve_metrics(settings: Settings) -> Iterator[WSGIServer]:
    """Serve GET /metrics at METRICS_HOST:METRICS_PORT on a daemon thread while the block runs (`serve` in
    Socket Mode has no HTTP server of its own); `SettingsError` if that address is taken."""
    try:
        server, _thread = start_http_server(
            settings.metrics_port, settings.metrics_host, registry=_registry()
        )
    except OSError as error:
        raise _unavailable(settings, error) from None
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _unavailable(settings: Settings, error: OSError) -> SettingsError:
    return SettingsError(
        f"Invalid setting METRICS_PORT: {settings.metrics_host}:{settings.metrics_port} is not available "
        f"({error.strerror}); each process serving metrics on a host (every `worker` command, `serve` in "
        "Socket Mode) needs its own port."
    )


#: Where Dramatiq's Prometheus middleware keeps its processes' values; set only by `workday-resync worker`.
_DIRECTORY_VARIABLE = "dramatiq_prom_db"


def worker_metrics_configured() -> bool:
    """Whether `workday-resync worker` set this process up for metrics (`worker_environment`): only then
    do Dramatiq's processes count messages and fork the exposition server. A bare `dramatiq` run serves
    none, so it neither takes METRICS_PORT nor shares a metrics directory with other runs."""
    return _DIRECTORY_VARIABLE in os.environ


def worker_environment(settings: Settings) -> dict[str, str]:
    """The environment of `workday-resync worker`'s Dramatiq processes for metrics.

    Their shared directory (METRICS_DIR, else one per METRICS_PORT), emptied of the values of an earlier
    start as prometheus_client requires, and the address of Dramatiq's exposition server, which must be
    free (`SettingsError` otherwise: the workers would run unobserved).
    """
    with socket.socket() as probe:
        # As Dramatiq's server binds: a port left in TIME_WAIT by recent scrapes counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.metrics_host, settings.metrics_port))
        except OSError as error:
            raise _unavailable(settings, error) from None
    default = Path(tempfile.gettempdir()) / f"workday-resync-metrics-{settings.metrics_port}"
    directory = Path(settings.metrics_dir) if settings.metrics_dir else default
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return {
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        _DIRECTORY_VARIABLE: str(directory),
        "dramatiq_prom_host": settings.metrics_host,
        "dramatiq_prom_port": str(settings.metrics_port),
    }
