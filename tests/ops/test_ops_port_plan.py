"""One port plan across `serve`, the Procfile and the systemd units (README "Deployment"): the Slack app on
3000, each worker command's metrics on 9191 and up, whatever port honcho hands out."""

from __future__ import annotations

import inspect
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from bot.cli import serve
from sync_engine.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SLACK_PORT = 3000
METRICS_PORT = 9191


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def _procfile_port(tmp_path: Path, process: str, env: dict[str, str]) -> tuple[str, str]:
    """Run a Procfile line as honcho does (`sh -c`), with `workday-resync` replaced by a script that
    prints the port it was given: (--port argument or '', METRICS_PORT)."""
    fake = tmp_path / "workday-resync"
    fake.write_text(
        '#!/bin/sh\nport=""\nwhile [ $# -gt 0 ]; do [ "$1" = --port ] && port=$2; shift; done\n'
        'echo "$port ${METRICS_PORT:-}"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    clean = {key: value for key, value in os.environ.items() if key not in {"PORT", "METRICS_PORT"}}
    environment = {**clean, "PATH": f"{tmp_path}:{os.environ['PATH']}", **env}
    out = subprocess.run(
        ["sh", "-c", _procfile()[process]], env=environment, capture_output=True, text=True, check=True
    ).stdout.split(" ")
    return out[0], out[1].strip()


# (process, honcho's PORT, HONCHO_PROCESS_NAME, METRICS_PORT from .env) -> (--port, METRICS_PORT).
# honcho gives process type k (from 0) PORT = base + 100 k, + 1 per instance; the base is 5000 unless
# `-p` (or PORT in .env) says otherwise. The workers' metrics ignore it.
HONCHO = {
    "honcho start -p 3000 -c worker=2": [
        ("web", "3000", "web.1", None, (str(SLACK_PORT), "")),
        ("worker", "3100", "worker.1", None, ("", "9191")),
        ("worker", "3101", "worker.2", None, ("", "9192")),
    ],
    "honcho start -c worker=2 worker": [
        ("worker", "5000", "worker.1", None, ("", "9191")),
        ("worker", "5001", "worker.2", None, ("", "9192")),
    ],
    "honcho start -c worker=3 worker, METRICS_PORT=9300 in .env": [
        ("worker", "5000", "worker.1", "9300", ("", "9300")),
        ("worker", "5002", "worker.3", "9300", ("", "9302")),
    ],
}


@pytest.mark.parametrize("command", list(HONCHO))
def test_the_procfile_and_the_units_follow_one_port_plan(tmp_path: Path, command: str) -> None:
    """The Slack app on 3000 (`serve --http`'s default, its unit, the Procfile's web), each worker
    command's metrics on METRICS_PORT (9191) and the next ports: never honcho's 5000-and-up."""
    assert inspect.signature(serve).parameters["port"].default == SLACK_PORT
    unit = (ROOT / "deploy" / "systemd" / "workday-resync-serve.service").read_text()
    [exec_start] = re.findall(r"^ExecStart=(.*)$", unit, re.MULTILINE)
    assert exec_start.split()[1:] == ["serve", "--http", "--host", "0.0.0.0", "--port", str(SLACK_PORT)]
    assert Settings.model_fields["metrics_port"].default == METRICS_PORT
    env_file = (ROOT / "deploy" / "workday-resync.env.example").read_text()
    assert f"\nMETRICS_PORT={METRICS_PORT}\n" in env_file
    assert _procfile_port(tmp_path, "web", {}) == (str(SLACK_PORT), "")
    for process, port, name, metrics_port, expected in HONCHO[command]:
        env = {"PORT": port, "HONCHO_PROCESS_NAME": name}
        if metrics_port is not None:
            env["METRICS_PORT"] = metrics_port
        assert _procfile_port(tmp_path, process, env) == expected, (command, name)
