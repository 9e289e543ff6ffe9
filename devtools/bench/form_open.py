"""`python -m devtools.bench.form_open`: how long an admin waits for the request form after the command,
with the connection check not cached (the trigger_id lives 3 s, and Slack's transit eats into it).

Each open is the first of a freshly built app (the Bolt app behind its HTTP server, the engine with its
embedded worker, a scratch SQLite store), so neither the connection check nor the admin check is cached;
the Workday sandbox answers each request after `--workday-latency` seconds (a check makes four).
Measured: from sending the signed command to the form on the emulator's screen (polled every 10 ms).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bot.connection_blocks import CHECKING
from bot.ids import COMMAND
from devtools.slack_admin import sandbox_app_settings, serving_app
from devtools.slack_emulator import SlackEmulator, SlackUser
from sync_engine.workday.sandbox import Sandbox, SandboxData, SandboxKnobs

__all__ = ["form_open_seconds", "main"]

CHANNEL = "C_BENCH"
ADMIN = "U_BENCH"


def form_open_seconds(opens: int, workday_latency: float) -> list[float]:
    """Seconds from the command to the form on screen, one per open, each with a cold cache."""
    data = SandboxData.generate(customers=5, seed=3, big_customer_documents=2)
    waits = []
    with (
        tempfile.TemporaryDirectory(prefix="workday-resync-form-open-") as directory,
        SlackEmulator() as slack,
        Sandbox(data, knobs=SandboxKnobs(latency=workday_latency)) as sandbox,
    ):
        slack.add_user(ADMIN, name="ana", is_admin=True)
        slack.add_channel(CHANNEL, name="finance", bot_member=True)
        for n in range(opens):
            settings = sandbox_app_settings(sandbox, slack, f"sqlite:///{Path(directory) / f'{n}.db'}")
            with serving_app(settings) as (_service, server):
                waits.append(_open_once(slack, slack.user(ADMIN, server.url)))
    return waits


def _open_once(slack: SlackEmulator, user: SlackUser) -> float:
    opened = len(slack.calls_to("views.open"))
    started = time.monotonic()
    user.slash_command(COMMAND, channel=CHANNEL)
    slack.wait_for(lambda: len(slack.calls_to("views.open")) > opened, 10)
    waited = time.monotonic() - started
    assert slack.calls_to("views.open")[-1].ok, "the form did not open"
    # The check goes on after the form opened: let it finish before its app stops.
    slack.wait_for(lambda: CHECKING not in json.dumps(user.open_view(timeout=0)), 30)
    return waited


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=50)
    parser.add_argument("--workday-latency", type=float, default=0.5)
    args = parser.parse_args()
    waits = sorted(form_open_seconds(args.opens, args.workday_latency))
    p99 = statistics.quantiles(waits, n=100, method="inclusive")[98]
    print(
        f"Form open after the command, cold cache, Workday latency {args.workday_latency} s per request, "
        f"{len(waits)} opens: p50 {statistics.median(waits) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {waits[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
