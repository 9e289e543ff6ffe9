"""`workday-resync sandbox --list`: the references and Workday IDs a newcomer can paste, and what a sync of
each counts, are those of the sandbox the same options serve."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from kits.cli import run_cli as _cli

ROOT = Path(__file__).resolve().parents[3]
OPTIONS = ["--customers", "8", "--seed", "5"]


def test_the_listed_references_and_wids_sync_with_the_listed_counts(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WORKDAY_", "REDIS_URL"))}
    env.update({"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"})
    listed = _cli(env, "sandbox", "--list", *OPTIONS)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:4] == ["REFERENCE", "WORKDAY", "ID", "(WID)"]
    assert len(rows) == 8
    customers = [row.split(maxsplit=5) for row in rows]
    # Two customers with documents: one pasted by reference, the other by WID.
    by_reference, by_wid = [row for row in customers if int(row[2]) > 0][:2]

    served = subprocess.Popen(
        [sys.executable, "-m", "sync_engine", "sandbox", "--port", "0", *OPTIONS],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert served.stdout is not None
        env.update(served.stdout.readline().strip().split("=", 1) for _ in range(6))
        env["WORKDAY_RATE_LIMIT"] = "100"
        for kind, identifier in (("reference", by_reference[0]), ("source-id", by_wid[1])):
            synced = _cli(env, "sync", "--type", kind, "--yes", identifier)
            assert synced.returncode == 0, synced.stdout + synced.stderr
        history = _cli(env, "history", "--json")
        assert history.returncode == 0, history.stderr
    finally:
        served.send_signal(signal.SIGTERM)
        served.wait(timeout=10)
    runs = json.loads(history.stdout)
    counted = [
        (run["status"], run["counts"]["invoices"], run["counts"]["payments"], run["counts"]["credit_notes"])
        for run in reversed(runs)
    ]
    assert counted == [("completed", *map(int, row[2:5])) for row in (by_reference, by_wid)]
