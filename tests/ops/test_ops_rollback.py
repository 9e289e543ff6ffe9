"""Rolling back (deploy/RUNBOOK.md, "Upgrade and roll back"): `migrate --down-to` takes the schema back
to a revision, keeping the ledger, and `migrate` brings it forward again; a version older than the schema
refuses to start with one line saying what to do, changing nothing."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "deploy" / "RUNBOOK.md"


def _downgrade_command() -> list[str]:
    """The downgrade command exactly as the runbook prints it."""
    [line] = re.findall(r"^workday-resync migrate --down-to \S+$", RUNBOOK.read_text(), re.MULTILINE)
    return line.split()


def _ledger(store: Path) -> tuple[int, int]:
    with sqlite3.connect(store) as connection:
        customers = connection.execute("SELECT count(*) FROM customers").fetchone()[0]
        invoices = connection.execute("SELECT count(*) FROM invoices").fetchone()[0]
    return int(customers), int(invoices)


def _version(store: Path) -> str:
    with sqlite3.connect(store) as connection:
        return str(connection.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def test_the_runbooks_downgrade_then_migrate_and_a_too_old_version_says_so(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update({"DATABASE_URL": f"sqlite:///{store}", "PYTHONPATH": str(ROOT)})
    executable = str(Path(sys.executable).parent / "workday-resync")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [executable, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    def migrate() -> subprocess.CompletedProcess[str]:
        return run("migrate")

    assert migrate().returncode == 0
    newest = _version(store)
    with sqlite3.connect(store) as connection:  # a customer and its invoice, as a sync leaves them
        now = "2026-12-01 10:00:00.000000"
        connection.execute(
            "INSERT INTO customers (id, wid, name, snapshot_at, synced_at) VALUES (1, 'W1', 'Acme', ?, ?)",
            (now, now),
        )
        connection.execute(
            "INSERT INTO invoices (wid, customer_pk, currency, synced_at, invoice_number, total_amount)"
            " VALUES ('I1', 1, 'USD', ?, 'INV-1', 10)",
            (now,),
        )
    program, *args = _downgrade_command()
    assert program == "workday-resync"
    revision = args[-1]
    downgraded = run(*args)
    assert downgraded.returncode == 0, downgraded.stderr
    assert downgraded.stdout == f"The store's schema is back at revision {revision}.\n"
    assert _version(store) == revision
    # The downgrade rebuilt `customers` (0005 added a column); its invoices survive the copy.
    assert _ledger(store) == (1, 1)
    assert migrate().returncode == 0
    assert _version(store) == newest
    assert _ledger(store) == (1, 1)
    unknown = run("migrate", "--down-to", "0999")
    assert (unknown.returncode, unknown.stderr) == (
        2,
        f"Error: Unknown schema revision '0999': this release knows 0001 to {newest}.\n",
    )

    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'ffff'")
    refused = migrate()
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"Error: The store at {store} has schema revision ffff, which this version of workday-resync does "
        f"not know (its newest is {newest}): a newer release upgraded it. Run that release, or downgrade "
        'the schema with it first (deploy/RUNBOOK.md, "Upgrade and roll back").'
    ]
    assert _version(store) == "ffff"
