"""`workday-resync bench` end to end on a tiny batch: the table has every row, requests equal the minimum.

Figures are printed, never asserted (timings depend on the machine).
"""

from __future__ import annotations

from functools import partial

import pytest
from typer.testing import CliRunner

from sync_engine.bench import BenchOptions, DataSpec, run_bench
from sync_engine.cli import app

TINY = DataSpec(customers=10, total_documents=400, big_customer_documents=120)


def test_the_bench_reaches_the_minimum_requests_and_reports_every_row(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.bench import slack_rows

    # The Slack rows run in a process of their own: the function must pickle.
    small_slack = partial(slack_rows, requests=20, concurrency=4, run_sizes=(2, 4))
    report = run_bench(
        BenchOptions(data=TINY, latency=0.01, overwrite_documents=500), slack=small_slack, say=lambda _: None
    )

    # 4 in flight and 5 req/s at 10 ms and 0 ms, no cap, and the naive one at a time with small pages.
    assert set(report.requests) == {"10 ms", "0 ms", "overhead SQLite", "naive"}
    for name, (made, minimum) in report.requests.items():
        assert made == minimum, name
    # The big customer's 132 receivables take 2 pages at limit 100 and 7 at limit 20.
    assert report.requests["naive"][1] > report.requests["10 ms"][1]
    figures = {row.figure.split(" (")[0].split(",")[0] for row in report.rows}
    assert {
        "Requests made / minimum at 10 ms",
        "Floor at 10 ms",
        "Wall at 10 ms",
        "Wall / floor at 10 ms",
        "Requests made / minimum at 0 ms",
        "Documents/s through parse + write",
        "Overwrite one customer of 500 documents",
        "Peak RSS of the worker process",
        "Ack of a signed command / click",
        "Ack p99 / max",
        "chat.update calls",
        "Requests made",
        "Gain: naive wall / our wall",
    } <= figures
    updates = [row for row in report.rows if row.figure.startswith("chat.update calls")]
    assert len(updates) == 2 and all(row.met for row in updates)
    with capsys.disabled():
        for row in report.rows:
            print(f"\n{row.figure}: {row.value}", end="")
        print()


def test_the_command_prints_one_table_and_the_floor_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(
        app, ["bench", "--quick", "--customers", "3", "--latency", "0", "--skip-slack", "--skip-naive"]
    )
    assert result.exit_code == 0, result.output
    assert "workday-resync bench" in result.output
    assert "Requests made / minimum at 0 ms" in result.output
    assert "wall / floor at 0 ms: " in result.output
