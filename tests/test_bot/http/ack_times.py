"""How long the modal submission takes to be acknowledged (Slack allows 3 s end to end). A measurement,
not a test: `.venv/bin/python tests/test_bot/http/ack_times.py [submits]` prints median and maximum per case.

The submission works before its ack (validation errors, or the confirmation, travel in it): the admin
check (cached 60 s; else one users.info on a client that never waits or retries), the form's check and the
draft's insert.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

# `kits` from tests/, `devtools` from the repository (it is not installed with the product).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from kits.slack_bot import ADMIN, CHANNEL, running_bot

from bot.ids import ActionId, BlockId
from devtools.slack_emulator import SlackEmulator
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData

WIDS = "\n".join(f"{n:032x}" for n in range(1, 91))  # one full box: 90 Workday IDs


def measure(submits: int, *, cache_seconds: float, latency: float, fail: str | None) -> list[float]:
    with tempfile.TemporaryDirectory() as folder, SlackEmulator() as slack:
        slack.add_user(ADMIN, name="ana", is_admin=True)
        slack.add_channel(CHANNEL, name="finance", bot_member=True)
        database = Database(f"sqlite:///{Path(folder) / 'store.db'}")
        database.migrate()
        data = SandboxData.generate(customers=3, seed=1)
        times = []
        with running_bot(database, slack, data, None, admin_cache_seconds=cache_seconds) as bot:
            ana = bot.user(ADMIN)
            for n in range(submits):
                bot.open_request(ana)
                bot.wait_for(lambda n=n: len(slack.calls_to("views.open")) > n)  # type: ignore[misc]
                ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, WIDS)
                # The keystroke's work (its admin check, the counter) runs after its ack: let it end first.
                bot.wait_for(lambda: "*90 customers selected*" in json.dumps(ana.open_view()["blocks"]))
                slack.knobs.latency = latency
                if fail:
                    slack.knobs.fail_next["users.info"] = fail
                times.append(ana.submit().elapsed)
                slack.knobs.latency = 0.0
        database.dispose()
        return times


def main() -> None:
    submits = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    cases = {
        "admin answer cached": {"cache_seconds": 60.0, "latency": 0.0, "fail": None},
        "users.info asked (cache expired)": {"cache_seconds": 0.0, "latency": 0.0, "fail": None},
        "users.info asked, Slack 300 ms slow": {"cache_seconds": 0.0, "latency": 0.3, "fail": None},
        "users.info answers 429 (Retry-After 1)": {
            "cache_seconds": 0.0,
            "latency": 0.0,
            "fail": "ratelimited",
        },
    }
    print(f"Modal submission (90 Workday IDs) acknowledged in, over {submits} submits:")
    for name, options in cases.items():
        times = measure(submits, **options)  # type: ignore[arg-type]
        print(
            f"  {name:42s} median {statistics.median(times) * 1000:6.0f} ms, max {max(times) * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    main()
