"""`workday-resync bench`: the real path measured against Workday's request floor (see `runner`)."""

from __future__ import annotations

from sync_engine.bench.report import BenchRow, bench_table
from sync_engine.bench.runner import FULL, QUICK, BenchOptions, BenchReport, run_bench
from sync_engine.bench.scenario import Caps, DataSpec

__all__ = [
    "FULL",
    "QUICK",
    "BenchOptions",
    "BenchReport",
    "BenchRow",
    "Caps",
    "DataSpec",
    "bench_table",
    "run_bench",
]
