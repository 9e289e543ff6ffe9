"""An admin's request in Slack, played against the real app and told as the admin sees it.

The Workday sandbox and the Slack emulator serve over sockets; the app is `serve --http` on the embedded
defaults (a scratch SQLite store, the in-process worker, no Redis), driven by the emulator's admin the
way Slack's client drives it (`devtools.slack_admin`). Each screen is rendered from the Block Kit the
app sent (`devtools.slack_emulator.screen`); the transcript ends on the run's final status message.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bot.ids import COMMAND, BlockId
from bot.modal import counter_text, shown_counter
from devtools.slack_admin import (
    confirm,
    fill_request_form,
    open_request_form,
    sandbox_app_settings,
    serving_app,
    submit_request_form,
)
from devtools.slack_emulator import SlackEmulator, SlackUser
from devtools.slack_emulator.screen import message_lines, modal_lines
from sync_engine import BatchRun, RunService, RunStatus
from sync_engine.workday.sandbox import Sandbox, SandboxData

__all__ = ["ADMIN", "CHANNEL", "SEED", "UNKNOWN_REFERENCE", "batch", "play"]

T = TypeVar("T")

ADMIN = "U0ANA0001"
CHANNEL = "C0FINANCE"
#: The sandbox's data set (as `workday-resync demo`'s).
SEED = 2026
#: A reference the sandbox does not know: the status message lists it as not found.
UNKNOWN_REFERENCE = "C-999999"
#: The longest the demo waits for any one thing the admin would wait for (a loaded machine included).
WAIT = 120.0


def batch(data: SandboxData, size: int) -> list[str]:
    """The references the admin pastes: `size - 1` customers of the sandbox and one unknown reference."""
    return [customer.customer_id or customer.wid for customer in data.customers[: size - 1]] + [
        UNKNOWN_REFERENCE
    ]


class Transcript:
    """What the admin sees, numbered step by step, written to `out` as it happens."""

    def __init__(self, out: TextIO, slack: SlackEmulator) -> None:
        self._out = out
        self._names = slack.names()
        self._tz = slack.time_zone(ADMIN)
        self._steps = 0
        self._started = time.monotonic()

    def step(self, title: str) -> None:
        self._steps += 1
        self._write("", f"── {self._steps}. {title} " + "─" * max(3, 70 - len(title)))

    def say(self, text: str) -> None:
        self._write(text)

    def modal(self, view: dict[str, Any]) -> None:
        self._write(*("    " + line for line in modal_lines(view, self._names, self._tz)))

    def message(self, message: dict[str, Any], heading: str) -> None:
        seconds = time.monotonic() - self._started
        self._write(f"  {heading} [{seconds:5.1f} s]")
        self._write(*("    │ " + line for line in message_lines(message, self._names, self._tz)))

    def _write(self, *lines: str) -> None:
        self._out.write("".join(line + "\n" for line in lines))
        self._out.flush()


def _wait(slack: SlackEmulator, condition: Callable[[], T | None]) -> T:
    return slack.wait_for(condition, WAIT)


def _form_when(user: SlackUser, shows: Callable[[dict[str, Any]], bool]) -> Callable[[], Any]:
    def check() -> dict[str, Any] | None:
        view = user.open_view(timeout=0)
        return view if shows(view) else None

    return check


def _checked(view: dict[str, Any]) -> bool:
    """The form's Workday badge shows the outcome of the connection check, not "Checking…"."""
    badge = [b for b in view["blocks"] if b.get("block_id") == BlockId.CONNECTION.value]
    return not badge or "Checking" not in str(badge[0])


def _status_message(slack: SlackEmulator) -> dict[str, Any] | None:
    mine = [
        m
        for m in slack.messages(CHANNEL)
        if m["user"] == slack.bot_user_id and m["thread_ts"] in (None, m["ts"])
    ]
    return mine[0] if mine else None


def _follow_status(
    transcript: Transcript, slack: SlackEmulator, service: RunService, run_id: int
) -> BatchRun:
    """Show each version of the status message until it shows the run's final state."""
    shown: Any = None
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        message = _status_message(slack)
        run = service.get(run_id)
        if message is not None and message["blocks"] != shown:
            shown = message["blocks"]
            edits = message["edited"]
            transcript.message(message, "posted" if edits == 0 else f"updated ({edits})")
        if run.is_final and message is not None and run.status.label in str(message["blocks"]):
            return run
        time.sleep(0.05)
    raise TimeoutError(f"run {run_id}'s final state did not reach its status message in {WAIT:.0f} s")


def play(out: TextIO, *, size: int = 12) -> bool:
    """Play the journey with a batch of `size` references; True when the run completed and its counts
    equal the sandbox's data."""
    data = SandboxData.generate(customers=max(60, size), seed=SEED)
    references = batch(data, size)
    with (
        tempfile.TemporaryDirectory(prefix="workday-resync-slack-demo-") as directory,
        SlackEmulator() as slack,
        Sandbox(data) as sandbox,
    ):
        slack.add_user(ADMIN, name="ana", real_name="Ana Lima", is_admin=True)
        slack.add_channel(CHANNEL, name="finance", bot_member=True)
        settings = sandbox_app_settings(sandbox, slack, f"sqlite:///{Path(directory) / 'demo.db'}")
        with serving_app(settings) as (service, server):
            transcript = Transcript(out, slack)
            transcript.say(
                f"Workday sandbox at {sandbox.base_url} (tenant {sandbox.tenant}); Slack emulator at "
                f"{slack.base_url}; the app at {server.url} with a scratch SQLite store and its "
                "in-process worker. Ana is a workspace admin; the app is in #finance."
            )
            ana = slack.user(ADMIN, server.url)
            final = _journey(transcript, slack, service, ana, references)
            _history(transcript, slack, ana)
        expected = data.run_counts([customer.wid for customer in data.customers[: size - 1]])
        ok = final.status is RunStatus.COMPLETED and final.counts == expected
        transcript.step("The status message in #finance, as the channel sees it now")
        transcript.say(
            f"  Its counts {'equal' if ok else 'DIFFER FROM'} the sandbox's data for these customers: "
            f"{expected.customers} customers, {expected.invoices} invoices, {expected.payments} payments, "
            f"{expected.credit_notes} credit notes."
        )
        message = _status_message(slack)
        assert message is not None
        transcript.message(message, "#finance")
    return ok


def _journey(
    transcript: Transcript, slack: SlackEmulator, service: RunService, ana: SlackUser, references: list[str]
) -> BatchRun:
    transcript.step("Ana types /workday-resync in #finance: the form opens")
    open_request_form(slack, ana, CHANNEL)
    transcript.modal(_wait(slack, _form_when(ana, _checked)))

    half = references[: len(references) // 2]
    transcript.step(f"She picks Reference and pastes {len(half)} references: the counter follows")
    fill_request_form(ana, half)
    form = _wait(slack, _form_when(ana, lambda view: shown_counter(view) == counter_text(len(half))))
    transcript.say(f"  The counter reads: {shown_counter(form)}")
    transcript.step(f"She pastes the rest ({len(references)} in all, one Workday will not know)")
    fill_request_form(ana, references)
    transcript.modal(
        _wait(slack, _form_when(ana, lambda view: shown_counter(view) == counter_text(len(references))))
    )

    transcript.step("She presses Synchronize: the form itself asks her to confirm")
    transcript.modal(submit_request_form(ana))

    transcript.step("She clicks Confirm: the form says the run is queued, with links to follow it")
    run = confirm(ana, service)
    transcript.modal(
        _wait(slack, _form_when(ana, lambda view: "Status message" in json.dumps(view["blocks"])))
    )

    transcript.step("The status message appears in #finance and fills in as the run works")
    final = _follow_status(transcript, slack, service, run.id)

    transcript.step("In its thread: the records file, the run's exact identifier list")
    status = _status_message(slack)
    assert status is not None
    records = _wait(slack, lambda: [f for f in slack.files if f["thread_ts"] == status["ts"]])[0]
    transcript.say(f"  📎 {records['title']} ({records['name']}):")
    for line in records["content"].decode().splitlines():
        transcript.say("    │ " + line)
    return final


def _history(transcript: Transcript, slack: SlackEmulator, ana: SlackUser) -> None:
    transcript.step("Ana types /workday-resync history: past runs, only for her")
    before = len(slack.ephemeral(ADMIN))
    ana.slash_command(COMMAND, "history", channel=CHANNEL)
    page = _wait(
        slack,
        lambda: [m for m in slack.ephemeral(ADMIN)[before:] if "Batch synchronizations" in m["text"]],
    )[-1]
    transcript.message(page, "only visible to you")
