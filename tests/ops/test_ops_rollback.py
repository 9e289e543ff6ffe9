"""Rolling back (deploy/RUNBOOK.md, "Upgrade and roll back"): the runbook's downgrade recipe takes the
schema back a revision and `migrate` brings it forward again; a version older than the schema refuses to
start with one line saying what to do, changing nothing."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "deploy" / "RUNBOOK.md"


def _recipe() -> str:
    """The downgrade script exactly as the runbook prints it."""
    [script] = re.findall(r"^python - 0004 <<'PY'\n(.*?)^PY$", RUNBOOK.read_text(), re.DOTALL | re.MULTILINE)
    return str(script)


def _version(store: Path) -> str:
    with sqlite3.connect(store) as connection:
        return str(connection.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def test_the_runbooks_downgrade_then_migrate_and_a_too_old_version_says_so(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update({"DATABASE_URL": f"sqlite:///{store}", "PYTHONPATH": str(ROOT)})
    command = [str(Path(sys.executable).parent / "workday-resync"), "migrate"]

    def migrate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    assert migrate().returncode == 0
    newest = _version(store)
    downgraded = subprocess.run(
        [sys.executable, "-", "0004"], input=_recipe(), env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert downgraded.returncode == 0, downgraded.stderr
    assert downgraded.stdout == "Schema downgraded to 0004\n"
    assert _version(store) == "0004"
    assert migrate().returncode == 0
    assert _version(store) == newest

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
