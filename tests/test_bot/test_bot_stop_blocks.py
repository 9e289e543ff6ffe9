"""The Stop button's and a stopped run's Block Kit against Slack's limits (pure builders)."""

from __future__ import annotations

import json
from datetime import timedelta

from kits.runs import T0, make_run

from bot import messages
from bot.ids import BlockId
from bot.stop_blocks import stop_answer, stop_blocks
from devtools.slack_emulator.limits import check_message
from sync_engine.domain import BatchRun, RunCounts, RunStatus


def stopped(**changes: object) -> BatchRun:
    at = T0 + timedelta(seconds=30)
    return make_run(
        **{
            "status": RunStatus.STOPPED,
            "stopped_by": "U_OLGA",
            "stopped_at": at,
            "finished_at": at,
            **changes,
        }
    )


def test_only_a_running_run_has_the_stop_button() -> None:
    for status in RunStatus:
        blocks = messages.status_message(make_run(status=status)).blocks
        has_button = any(block.get("block_id") == BlockId.RUN_STOP for block in blocks)
        assert has_button is (status in (RunStatus.RECEIVED, RunStatus.IN_PROGRESS)), status


def test_a_stopped_run_says_who_when_and_what_it_skipped_escaped() -> None:
    run = stopped(skipped=["C-000008", "<!here> _x_"], counts=RunCounts(8, 90, 30, 4))
    message = messages.status_message(run)
    check_message(message.text, message.blocks)
    text = json.dumps(message.blocks)
    assert (
        f":octagonal_sign: *Stopped* by <@U_OLGA> <!date^{int(run.stopped_at.timestamp())}^"  # type: ignore[union-attr]
        in text
    )
    assert "*Skipped, not started (2):* `C-000008`, `&lt;!here&gt; _x_`" in text
    assert "<!here>" not in text
    assert "*Customers*\\n8 of 10" in text


def test_a_hundred_long_skipped_identifiers_and_a_huge_error_stay_within_limits() -> None:
    skipped = [f"REF-{n:03d}-" + "x" * 200 for n in range(100)]
    error = "; ".join(f"{ref}: Workday said <no> " + "y" * 300 for ref in skipped[:50])
    run = stopped(identifiers=skipped, resolved=100, skipped=skipped, unresolved=[], error=error)
    message = messages.status_message(run)
    check_message(message.text, message.blocks)
    [section] = [b for b in stop_blocks(run) if "Skipped" in b["text"]["text"]]
    shown = section["text"]["text"]
    assert len(shown) <= 3000 and shown.endswith(" more")
    listed = shown.split(":* ", 1)[1].rsplit(" … and ", 1)
    assert len(listed[0].split(", ")) + int(listed[1].removesuffix(" more")) == 100


def test_the_answer_to_the_admin_who_clicked() -> None:
    assert stop_answer(stopped(skipped=["C-1", "C-2"]), True) == (
        "Run 7 stopped: 3 customers written and kept, 2 skipped (not started)."
    )
    assert stop_answer(stopped(), False) == "Run 7 was already stopped by <@U_OLGA>: nothing changed."
    assert stop_answer(stopped(stopped_by="cli:<ana>"), False) == (
        "Run 7 was already stopped by cli:&lt;ana&gt;: nothing changed."
    )
    done = make_run(status=RunStatus.COMPLETED)
    assert stop_answer(done, False) == "Run 7 has already ended (Completed): nothing to stop."
