"""The `serve` process's own endpoint (embedded worker: no Redis), and processes that cannot serve metrics."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kits.metrics import scrape
from kits.slack_bot import ADMIN, CHANNEL, final_status, request_run, running_bot
from kits.stack import expected_counts

from devtools.slack_emulator import SlackEmulator
from sync_engine.domain import RunStatus
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_user(ADMIN, name="ana", is_admin=True)
        emulator.add_channel(CHANNEL, name="finance", bot_member=True)
        yield emulator


def test_serve_with_its_embedded_worker_counts_the_run_at_get_metrics(
    sqlite_database: Database, slack: SlackEmulator
) -> None:
    data = SandboxData.generate(customers=6, seed=3)
    with running_bot(sqlite_database, slack, data, None) as bot:
        url = bot.server.url.replace("/slack/events", "/metrics")
        # This test process may have counted other runs: compare with what it showed before.
        before = scrape(url)
        wids = [customer.wid for customer in data.customers[:4]]

        run = request_run(bot, wids, kind="source_id")
        final_status(bot, run.id)
        after = scrape(url)

    def delta(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    counts = expected_counts(data, wids)
    assert bot.service.get(run.id).status is RunStatus.COMPLETED
    assert delta("workday_resync_runs_queued_total") == 1
    assert delta("workday_resync_runs_total", status="completed") == 1
    assert delta("workday_resync_customers_total", outcome="synced") == 4
    assert delta("workday_resync_documents_synced_total", type="invoice") == counts.invoices
    assert delta("workday_resync_documents_synced_total", type="payment") == counts.payments
    assert delta("workday_resync_documents_synced_total", type="credit_note") == counts.credit_notes
    assert delta("workday_resync_workday_requests_total", operation="invoices", outcome="ok") >= 4
    assert delta("workday_resync_slack_requests_total", method="chat.postMessage", outcome="ok") >= 1


@pytest.mark.parametrize(
    ("command", "settings"),
    [
        (["worker"], {}),
        # Socket Mode: its metrics endpoint is its only HTTP server.
        (["serve"], {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-1-test"}),
    ],
    ids=["worker", "serve-socket-mode"],
)
def test_a_process_whose_metrics_port_is_taken_says_so_and_does_not_start(
    tmp_path: Path, command: list[str], settings: dict[str, str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            "PATH": os.environ.get("PATH", ""),
            "REDIS_URL": "redis://127.0.0.1:1/0",  # never reached
            "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "WORKDAY_BASE_URL": "https://wd2-impl-services1.workday.com",
            "WORKDAY_TENANT": "acme",
            "WORKDAY_CLIENT_ID": "client",
            "WORKDAY_CLIENT_SECRET": "secret",
            "WORKDAY_REFRESH_TOKEN": "refresh",
            "METRICS_HOST": "127.0.0.1",
            "METRICS_PORT": str(port),
            **settings,
        }
        result = subprocess.run(
            [str(Path(sys.executable).parent / "workday-resync"), *command],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 2
    assert f"Invalid setting METRICS_PORT: 127.0.0.1:{port} is not available" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "store.db").exists()  # stopped before touching the store
