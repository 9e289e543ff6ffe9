"""Fixtures of the hostile-input and security tests.

One bot per module (the corpus drives dozens of cases through it): the product's defaults (SQLite, the
embedded worker), the Slack emulator over HTTP, the Workday sandbox reached through `WireRecorder`, a
forwarding proxy that keeps the exact bytes of every request the Workday client sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from kits.hostile import LoggedErrors, WireRecorder
from kits.slack_bot import Bot, running_bot, slack_workspace

from devtools.slack_emulator import SlackEmulator
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData


@pytest.fixture(scope="module")
def hostile_data() -> SandboxData:
    return SandboxData.generate(customers=12, seed=9)


@pytest.fixture(scope="module")
def hostile_slack() -> Iterator[SlackEmulator]:
    with slack_workspace() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def hostile_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'store.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def wire() -> Iterator[WireRecorder]:
    with WireRecorder() as recorder:
        yield recorder


@pytest.fixture(scope="module")
def hostile_bot(
    hostile_database: Database, hostile_slack: SlackEmulator, hostile_data: SandboxData, wire: WireRecorder
) -> Iterator[Bot]:
    with running_bot(hostile_database, hostile_slack, hostile_data, None, workday_base_url=wire.url) as bot:
        wire.target = bot.sandbox.base_url
        yield bot


@pytest.fixture
def app_errors(caplog: pytest.LogCaptureFixture) -> Iterator[LoggedErrors]:
    """Errors and tracebacks logged so far in the test (every case must leave none); checked again at the
    end, for errors logged after the test's last look."""
    caplog.set_level(logging.WARNING)

    def logged() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]

    yield logged
    assert logged() == []
