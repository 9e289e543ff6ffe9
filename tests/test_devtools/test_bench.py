"""`python -m devtools.bench` end to end on a tiny batch: the table has every row, requests equal the minimum
(the batched one: the tiny batch is one group; the naive baseline's, each customer alone).

Figures are printed, never asserted (timings depend on the machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from devtools.bench import BenchOptions, DataSpec, run_bench
from devtools.bench.slack import slack_rows

ROOT = Path(__file__).resolve().parents[2]

TINY = DataSpec(customers=10, total_documents=400, big_customer_documents=120)


def test_the_bench_reaches_the_minimum_requests_and_reports_every_row(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The Slack rows run in a process of their own: the function must pickle.
    small_slack = partial(slack_rows, requests=20, concurrency=4, run_sizes=(2, 4), busy_run=4)
    report = run_bench(
        BenchOptions(data=TINY, latency=0.01, overwrite_documents=500), slack=small_slack, say=lambda _: None
    )

    # 4 in flight and 5 req/s at 10 ms and 0 ms, no cap, and the naive one at a time with small pages.
    assert set(report.requests) == {"10 ms", "0 ms", "overhead SQLite", "naive"}
    # Workday's strict limiter refuses what arrives too close; each refusal is one request more.
    for name, (made, minimum) in report.requests.items():
        assert made == minimum + report.throttled[name], name
    # The big customer's 132 receivables take 2 pages at limit 100 and 7 at limit 20.
    assert report.requests["naive"][1] > report.requests["10 ms"][1]
    figures = {row.figure.split(" (")[0].split(",")[0] for row in report.rows}
    assert {
        "Requests / batched minimum at 10 ms",
        "Floor at 10 ms",
        "Wall at 10 ms",
        "Wall / floor at 10 ms",
        "Throttled answers at 10 ms",
        "Requests / batched minimum at 0 ms",
        "Documents/s through parse + write",
        "Overwrite one customer of 500 documents",
        "Peak RSS of the worker process",
        "Ack of a signed command / click",
        "Ack p99 / max",
        "chat.update calls",
        "Requests made",
        "Gain: naive wall / our wall",
    } <= figures
    # Every ack sent from Slack's side (raw, signed requests from a process of their own) was a 200.
    [ack] = [row for row in report.rows if row.figure == "Ack p99 / max"]
    assert "(0 failed)" in ack.goal, ack
    updates = [row for row in report.rows if row.figure.startswith("chat.update calls")]
    assert len(updates) == 2 and all(row.met for row in updates)
    with capsys.disabled():
        for row in report.rows:
            print(f"\n{row.figure}: {row.value}", end="")
        print()


def test_the_command_prints_one_table_and_the_floor_ratio() -> None:
    # As the README runs it: from the repository, with the virtualenv's Python (devtools is not installed).
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    command = ["-m", "devtools.bench", "--quick", "--customers", "3", "--latency", "0"]
    result = subprocess.run(
        [sys.executable, *command, "--skip-slack", "--skip-naive"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "python -m devtools.bench" in result.stdout
    assert "Requests / batched minimum at 0 ms" in result.stdout
    assert "wall / floor at 0 ms: " in result.stdout
