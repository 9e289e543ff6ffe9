"""`workday-resync results RUN_ID [--csv]`: a real process against the sandbox and a SQLite store."""

from __future__ import annotations

import csv
import io

from kits.cli import run_cli as cli

from sync_engine.results import CSV_HEADER
from sync_engine.run_errors import NOT_FOUND_ON_WORKDAY
from sync_engine.workday.sandbox import Sandbox


def test_results_print_each_customer_as_a_table_and_as_csv(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    data = sandbox.data
    customers = [c for c in data.customers[1:6] if c.customer_id][:2]
    ids = [c.customer_id or "" for c in customers]
    synced = cli(environment, "sync", "--type", "reference", "--yes", *ids, "C-404404", "=2+2")
    assert synced.returncode == 0, synced.stdout + synced.stderr

    as_csv = cli(environment, "results", "1", "--csv")
    table = cli(environment, "results", "1")

    assert as_csv.returncode == 0 and as_csv.stderr == "", as_csv.stderr
    expected = [
        [c.customer_id or "", c.wid, data.customer(c.wid).name, "synced", *map(str, data.counts(c.wid)), ""]
        for c in customers
    ]
    expected += [
        ["C-404404", "", "", "unresolved", "0", "0", "0", NOT_FOUND_ON_WORKDAY],
        ["'=2+2", "", "", "unresolved", "0", "0", "0", NOT_FOUND_ON_WORKDAY],
    ]
    assert list(csv.reader(io.StringIO(as_csv.stdout, newline=""))) == [list(CSV_HEADER), *expected]
    assert table.returncode == 0, table.stderr
    assert "Run 1: results per customer" in table.stdout
    lines = table.stdout.splitlines()
    for row in expected:
        identifier = row[0].removeprefix("'")  # the table shows text as it is
        [line] = [line for line in lines if line.split()[:1] == [identifier]]
        assert row[3] in line and (row[1] in line if row[1] else True)
        assert " ".join(row[4:7]) in " ".join(line.split())


def test_results_of_an_unknown_run_is_one_line_and_exit_2(environment: dict[str, str]) -> None:
    result = cli(environment, "results", "999", "--csv")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "Error: There is no batch run 999.\n"
