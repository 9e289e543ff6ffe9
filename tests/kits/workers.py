"""`workday-resync worker` commands started by tests: real processes with the settings of the app under
test, each serving its metrics on a free port from a directory of its own, its output captured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kits.metrics import free_port

from bot.settings import AppSettings
from sync_engine.store.database import Database


@dataclass
class WorkerCommand:
    """One `workday-resync worker` command, as on one host: its metrics endpoint and its output."""

    metrics_url: str
    output: Path
    process: subprocess.Popen[bytes]

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (the processes finish their jobs in hand); SIGKILL if it has not exited in `timeout` s."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_worker_command(
    settings: AppSettings, database: Database, workdir: Path, *, processes: int, threads: int = 2
) -> WorkerCommand:
    """Start `workday-resync worker` in `workdir` (its output in `worker.log` there) with the Workday, Slack
    and store settings of `settings`, on `database`."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / "worker.log"
    command = [
        str(Path(sys.executable).parent / "workday-resync"),
        "worker",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
    ]
    env = _environment(settings, database, metrics_port=port, metrics_dir=workdir / "metrics")
    with output.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    return WorkerCommand(f"http://127.0.0.1:{port}/metrics", output, process)


def _environment(
    settings: AppSettings, database: Database, *, metrics_port: int, metrics_dir: Path
) -> dict[str, str]:
    assert settings.workday_client_secret and settings.workday_refresh_token and settings.slack_bot_token
    return {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": database.url,
        "REDIS_URL": settings.redis_url or "",
        "WORKDAY_BASE_URL": settings.workday_base_url or "",
        "WORKDAY_TENANT": settings.workday_tenant or "",
        "WORKDAY_CLIENT_ID": settings.workday_client_id or "",
        "WORKDAY_CLIENT_SECRET": settings.workday_client_secret.get_secret_value(),
        "WORKDAY_REFRESH_TOKEN": settings.workday_refresh_token.get_secret_value(),
        # The product's 5 requests/s would make every test wait on the gate; caps have their own tests.
        "WORKDAY_RATE_LIMIT": "500",
        "SLACK_BOT_TOKEN": settings.slack_bot_token.get_secret_value(),
        "SLACK_API_URL": settings.slack_api_url,
        "SLACK_STATUS_INTERVAL": str(settings.slack_status_interval),
        "SLACK_UPDATES_PER_MINUTE": str(settings.slack_updates_per_minute),
        # The default port and directory may be another test's (or a running worker's).
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(metrics_port),
        "METRICS_DIR": str(metrics_dir),
    }
