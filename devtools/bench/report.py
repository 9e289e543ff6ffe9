"""The benchmark's one table: rows of figures grouped by what they measure."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table

__all__ = ["BenchRow", "bench_table", "megabytes", "seconds"]


@dataclass(frozen=True, slots=True)
class BenchRow:
    section: str
    figure: str
    value: str
    goal: str = ""
    #: None when the row has no goal; else whether the goal was met.
    met: bool | None = None


def bench_table(rows: list[BenchRow], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("Section")
    table.add_column("Figure")
    table.add_column("Value", justify="right")
    table.add_column("Goal")
    previous = None
    for row in rows:
        if previous is not None and row.section != previous:
            table.add_section()
        mark = {True: " [green]met[/]", False: " [red]missed[/]", None: ""}[row.met]
        table.add_row(row.section if row.section != previous else "", row.figure, row.value, row.goal + mark)
        previous = row.section
    return table


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def megabytes(value: int) -> str:
    return f"{value / 2**20:.0f} MB"
