"""`make slack-demo` (`python -m devtools.slack_demo`): the Slack app shown working without a workspace, as
a real process on the embedded defaults, its transcript ending on the Completed status message."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from devtools.slack_demo.journey import SEED, UNKNOWN_REFERENCE, batch
from sync_engine.workday.sandbox import SandboxData

ROOT = Path(__file__).resolve().parents[2]
SIZE = 6


def _steps(transcript: str) -> list[tuple[str, str]]:
    """(title, body) of each numbered step."""
    parts = re.split(r"^── \d+\. (.*?) ─+$", transcript, flags=re.MULTILINE)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def _fields(body: str) -> dict[str, str]:
    """The `Label: value` lines of the last message rendered in `body`."""
    last = body.rsplit("BATCH SYNCHRONIZATION | WORKDAY", 1)[-1]
    pairs = (line.split("│ ", 1)[-1].split(": ", 1) for line in last.splitlines() if ": " in line)
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def test_the_slack_demo_plays_the_request_and_ends_on_the_completed_message() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "WORKDAY_", "DATABASE_URL", "REDIS_URL"))
    }
    shown = subprocess.run(
        [sys.executable, "-m", "devtools.slack_demo", "--customers", str(SIZE)],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    data = SandboxData.generate(customers=60, seed=SEED)
    references = batch(data, SIZE)
    expected = data.run_counts([customer.wid for customer in data.customers[: SIZE - 1]])
    steps = dict(_steps(shown.stdout))
    titles = list(steps)

    # The form, its counter after the whole paste, the confirmation in the form, Confirm's answer.
    form = next(body for title, body in steps.items() if title.startswith("She pastes the rest"))
    assert f"*{SIZE} customers selected*" in form and "[Synchronize]" in form
    assert all(f"│   │ {reference}" in form for reference in references)
    asked = next(body for title, body in steps.items() if "Synchronize" in title)
    # The form itself became the confirmation (Back, Cancel, Confirm), then says the run is queued.
    assert f"This re-imports and overwrites {SIZE} customers" in asked and "[Cancel]  [Confirm]" in asked
    assert "[Back]" in asked
    queued = next(body for title, body in steps.items() if title.startswith("She clicks Confirm"))
    assert "Run #1 is queued" in queued and "[Status message]" in queued

    # The status message as posted (not final yet), then filled in up to Completed.
    status = next(body for title, body in steps.items() if title.startswith("The status message appears"))
    assert "Status: 📥 Received" in status.split("updated", 1)[0]
    assert _fields(status)["Status"] == "✅ Completed"
    records = next(body for title, body in steps.items() if "records file" in title)
    assert [line.split("│ ", 1)[1] for line in records.splitlines() if "│ " in line] == references
    history = next(body for title, body in steps.items() if "history" in title)
    assert "*Run #1*" in history and "✅ Completed" in history

    # It ends on the Completed message, with the sandbox's counts and the unknown reference.
    last_title, last = titles[-1], steps[titles[-1]]
    assert last_title.startswith("The status message in #finance")
    # The unknown reference can be re-run from the message.
    assert shown.stdout.rstrip().endswith("records file in the thread\n    │ [Re-run 1]")
    shown = _fields(last)
    assert shown.pop("Requested").endswith(("PST", "PDT"))  # in Ana's time zone
    # The ":file_cabinet: What this run overwrote is kept until …" line, read as a label by `_fields`.
    assert shown.pop(":file_cabinet").startswith("What this run overwrote is kept until ")
    assert shown == {
        "Requested by": "@ana",
        "Identifier type": "Reference (customer number)",
        "Status": "✅ Completed",
        "Customers": str(expected.customers),
        "Invoices": str(expected.invoices),
        "Payments": str(expected.payments),
        "Credit notes": str(expected.credit_notes),
    }
    assert f"Not found on Workday (1):* `{UNKNOWN_REFERENCE}`" in last
