"""`python -m devtools.bench`: the real path measured against Workday's request floor (see `runner`)."""

from __future__ import annotations

from devtools.bench.report import BenchRow, bench_table
from devtools.bench.runner import FULL, QUICK, BenchOptions, BenchReport, run_bench
from devtools.bench.scenario import Caps, DataSpec

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
