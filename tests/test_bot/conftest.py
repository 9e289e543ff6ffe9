"""Fixtures of the Slack app's end-to-end tests (see tests/kits/slack_bot.py).

`bot` is the product's defaults (SQLite, embedded in-memory broker, in-process status updates);
`bot_both` runs a test on that stack and on PostgreSQL + Redis (Redis broker, Redis coordination);
`bot_with(**settings)` is `bot_both` with settings of the test's own; `serial_bot` is `bot` with one
listener thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from kits.slack_bot import Bot, running_bot

from bot import app as slack_app
from devtools.slack_emulator import SlackEmulator
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData


@pytest.fixture(scope="session")
def sandbox_data() -> SandboxData:
    """Shared by every Slack test (they never change Workday's data)."""
    return SandboxData.generate(customers=40, seed=5, big_customer_documents=150)


@pytest.fixture
def bot(
    sqlite_database: Database, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> Iterator[Bot]:
    with running_bot(sqlite_database, slack, sandbox_data, None) as running:
        yield running


@pytest.fixture
def bot_with(
    database: Database,
    slack: SlackEmulator,
    sandbox_data: SandboxData,
    request: pytest.FixtureRequest,
    fast_job_retries: None,
) -> Iterator[Callable[..., Bot]]:
    """`bot_with(data=None, **settings)`: the app on each stack, as `bot_both`, with `settings` changed
    (`running_bot`'s options) and, given `data`, a sandbox of its own (for a test that changes Workday's
    data)."""
    redis_url = request.getfixturevalue("redis_url") if database.dialect == "postgresql" else None
    with ExitStack() as stack:

        def make(data: SandboxData | None = None, **settings: Any) -> Bot:
            running = running_bot(database, slack, data or sandbox_data, redis_url, **settings)
            return stack.enter_context(running)

        yield make


@pytest.fixture
def bot_both(bot_with: Callable[..., Bot]) -> Bot:
    return bot_with()


@pytest.fixture
def serial_bot(
    monkeypatch: pytest.MonkeyPatch,
    sqlite_database: Database,
    slack: SlackEmulator,
    sandbox_data: SandboxData,
    fast_job_retries: None,
) -> Iterator[Bot]:
    """The app with one listener thread: each listener's work after its ack ends before the next one's
    starts."""
    monkeypatch.setattr(slack_app, "LISTENER_THREADS", 1)
    with running_bot(sqlite_database, slack, sandbox_data, None) as running:
        yield running
