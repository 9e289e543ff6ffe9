"""Slack app test harness: the Bolt app served over HTTP on a local port, the emulator's users posting
signed requests to it, the app's real WebClient talking to the emulator (SLACK_API_URL), and runs
executing on a real worker against the Workday sandbox (see tests/test_bot/conftest.py for the fixtures).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import dramatiq
import redis
from kits.stack import FAST_RETRY, sandbox_settings
from pydantic import SecretStr

from bot.app import build_app
from bot.http_server import SlackHttpServer
from bot.settings import AppSettings
from bot.status.actor import STATUS_ACTOR
from devtools import slack_admin
from devtools.slack_admin import open_request_form
from devtools.slack_emulator import SlackEmulator, SlackUser
from devtools.slack_emulator.transcript import RecordedCall
from sync_engine import jobs
from sync_engine.broker import EmbeddedWorker, build_broker
from sync_engine.domain import BatchRun
from sync_engine.errors import SettingsError
from sync_engine.runtime import Runtime, configure
from sync_engine.service import RunService
from sync_engine.settings import Settings
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import Sandbox, SandboxData
from sync_engine.workday_client import build_workday_client

T = TypeVar("T")

ADMIN = "U_ADMIN"
OWNER = "U_OWNER"
PLAIN = "U_PLAIN"
ALLOWED = "U_ALLOWED"
CHANNEL = "C_FIN"
#: A channel the app was never invited to.
OUTSIDE = "C_OUTSIDE"


@contextmanager
def slack_workspace() -> Iterator[SlackEmulator]:
    """The emulator with the tests' workspace: an admin, an owner, a plain member, a user allowed by
    RESYNC_ADMIN_USER_IDS; the app's channel and one it is not in."""
    with SlackEmulator() as emulator:
        emulator.add_user(ADMIN, name="ana", is_admin=True)
        emulator.add_user(OWNER, name="olga", is_owner=True)
        emulator.add_user(PLAIN, name="bob")
        emulator.add_user(ALLOWED, name="carl")
        emulator.add_channel(CHANNEL, name="finance", bot_member=True)
        emulator.add_channel(OUTSIDE, name="random", bot_member=False)
        yield emulator


@dataclass
class Bot:
    """The app, its engine and its Slack, as a test drives them."""

    slack: SlackEmulator
    server: SlackHttpServer
    service: RunService
    sandbox: Sandbox
    settings: AppSettings
    rt: Runtime
    broker: dramatiq.Broker

    def deliver_status_update(self, run_id: int, *, final: bool = False) -> None:
        """Run the status actor here and now, as a worker does when Dramatiq delivers its message."""
        self.broker.get_actor(STATUS_ACTOR)(run_id, final=final)

    def user(self, user_id: str = ADMIN) -> SlackUser:
        return self.slack.user(user_id, app_url=self.server.url)

    # Caps on waits for a state, never figures: generous, so that a loaded machine (two suites on two
    # cores, worker processes booting) still passes.
    def wait_for(self, condition: Callable[[], T | None], timeout: float = 30.0) -> T:
        return self.slack.wait_for(condition, timeout=timeout)

    def wait_run(self, run_id: int, timeout: float = 120.0) -> BatchRun:
        return self.wait_for(lambda: (run := self.service.get(run_id)).is_final and run, timeout)

    def status_messages(self, channel: str = CHANNEL) -> list[dict[str, Any]]:
        return [
            m for m in self.slack.messages(channel) if m["user"] == self.slack.bot_user_id and not _reply(m)
        ]

    def replies(self, channel: str = CHANNEL) -> list[dict[str, Any]]:
        return [m for m in self.slack.messages(channel) if _reply(m)]

    def open_request(self, user: SlackUser, channel: str = CHANNEL) -> dict[str, Any]:
        """The command, then the form it opens (`devtools.slack_admin.open_request_form`)."""
        return open_request_form(self.slack, user, channel)


def _workday_configured(settings: Settings) -> bool:
    try:
        settings.workday()
    except SettingsError:
        return False
    return True


def _reply(message: dict[str, Any]) -> bool:
    return message["thread_ts"] is not None and message["thread_ts"] != message["ts"]


def bot_settings(
    sandbox: Sandbox, database: Database, slack: SlackEmulator, redis_url: str | None, **changes: Any
) -> AppSettings:
    """The engine's settings for the sandbox and the Slack side's for the emulator, in one object."""
    engine = sandbox_settings(sandbox, database, redis_url)
    return AppSettings.model_construct(
        **{
            **dict(engine),
            "slack_bot_token": SecretStr(slack.bot_token),
            "slack_signing_secret": SecretStr(slack.signing_secret),
            "slack_api_url": slack.api_url,
            "resync_admin_user_ids": (ALLOWED,),
            "slack_status_interval": 0.3,
            "slack_updates_per_minute": 600.0,
            **changes,
        }
    )


@contextmanager
def running_bot(
    database: Database,
    slack: SlackEmulator,
    data: SandboxData,
    redis_url: str | None,
    *,
    admin_cache_seconds: float = 60.0,
    embedded_worker: bool = True,
    **changes: Any,
) -> Iterator[Bot]:
    """The app on a local port with its engine; without `embedded_worker`, other processes do the work."""
    if redis_url:
        redis.Redis.from_url(redis_url).flushdb()
    with Sandbox(data) as sandbox:
        settings = bot_settings(sandbox, database, slack, redis_url, **changes)
        rt = configure(Runtime(settings, database))
        client = build_workday_client(settings, retry=FAST_RETRY) if _workday_configured(settings) else None
        rt.workday_client = client
        broker = build_broker(rt)  # installs the Slack plugin: its actor and run observer
        service = RunService(
            database,
            jobs.DramatiqDispatcher(),
            rt.events,
            approval_above=settings.resync_approval_above,
            require_reason=settings.resync_require_reason,
        )
        with ExitStack() as stack:
            if embedded_worker:
                stack.enter_context(EmbeddedWorker(rt, broker, threads=settings.worker_threads))
            app = build_app(settings, service, admin_cache_seconds=admin_cache_seconds)
            with SlackHttpServer(app) as server:
                yield Bot(slack, server, service, sandbox, settings, rt, broker)
        broker.close()
        if client is not None:
            client.close()
        rt.leases.stop()


def elapsed(function: Callable[[], T]) -> tuple[T, float]:
    started = time.monotonic()
    result = function()
    return result, time.monotonic() - started


def fields(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """The status message's fields, label → value."""
    sections = [block for block in blocks if block["type"] == "section" and "fields" in block]
    pairs = (field["text"].split("\n", 1) for section in sections for field in section["fields"])
    return {label.strip("*"): value for label, value in pairs}


def request_run(
    bot: Bot, identifiers: list[str], *, kind: str = "reference", channel: str = CHANNEL
) -> BatchRun:
    """The admin's whole request: command, modal, Synchronize, Confirm; returns the queued run."""
    return slack_admin.request_run(
        bot.slack, bot.user(ADMIN), bot.service, identifiers, kind=kind, channel=channel
    )


def synchronize(user: SlackUser) -> int:
    """Press Synchronize on the filled form: it becomes the confirmation; the draft run's id."""
    return slack_admin.draft_id(slack_admin.submit_request_form(user))


def status_posts(slack: SlackEmulator) -> list[RecordedCall]:
    """chat.postMessage calls that post a message of its own (not a reply in a thread)."""
    return [call for call in slack.calls_to("chat.postMessage") if "thread_ts" not in call.params]


def records_files(slack: SlackEmulator) -> list[dict[str, Any]]:
    """The records files uploaded (each run's identifier list), not the other files of the threads."""
    return [upload for upload in slack.files if upload["name"].endswith("-identifiers.txt")]


def error_replies(bot: Bot, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [reply for reply in bot.replies(channel) if "ended in error" in reply["text"]]


def final_status(bot: Bot, run_id: int, channel: str = CHANNEL) -> dict[str, Any]:
    run = bot.wait_run(run_id)

    def shown() -> dict[str, Any] | None:
        for message in bot.status_messages(channel):
            if fields(message["blocks"]).get("Status", "").endswith(run.status.label):
                return message
        return None

    return bot.wait_for(shown)
