"""Our Slack app served against the Workday sandbox and the Slack emulator, on the embedded defaults (one
process: store, embedded worker, the Bolt app behind its HTTP server), and an admin's steps with it: open
the request form, fill it, Synchronize (the form becomes the confirmation), Confirm. Shared by the Slack
demo (`devtools.slack_demo`), the
benchmark and the tests' Slack kit, so that all of them drive the app the way a person does, waiting for
what the person would wait for."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr

from bot.app import build_app
from bot.http_server import SlackHttpServer
from bot.ids import COMMAND, ActionId, BlockId, CallbackId
from bot.serve import freeze_startup_heap
from bot.settings import AppSettings
from devtools.slack_emulator import SlackEmulator, SlackUser
from sync_engine import BatchRun, RunService, open_engine
from sync_engine.workday.sandbox import Sandbox

__all__ = [
    "confirm",
    "draft_id",
    "fill_request_form",
    "open_request_form",
    "request_run",
    "sandbox_app_settings",
    "serving_app",
    "submit_request_form",
]

#: Caps on waits for something to appear, never figures: generous, so a loaded machine still passes.
WAIT = 30.0


def sandbox_app_settings(
    sandbox: Sandbox, slack: SlackEmulator, database_url: str, **changes: Any
) -> AppSettings:
    """The product's settings (no `.env`, no Redis) pointed at the sandbox, the emulator and a store."""
    return AppSettings(
        _env_file=None,
        database_url=database_url,
        redis_url=None,
        workday_base_url=sandbox.base_url,
        workday_tenant=sandbox.tenant,
        workday_client_id=sandbox.client_id,
        workday_client_secret=SecretStr(sandbox.client_secret),
        workday_refresh_token=SecretStr(sandbox.refresh_token),
        slack_bot_token=SecretStr(slack.bot_token),
        slack_signing_secret=SecretStr(slack.signing_secret),
        slack_api_url=slack.api_url,
        **changes,
    )


@contextmanager
def serving_app(settings: AppSettings) -> Iterator[tuple[RunService, SlackHttpServer]]:
    """`serve --http` without Redis, in this process: the engine with its embedded worker, the app on a
    free local port (`server.url` is its Request URL)."""
    with open_engine(settings, work=True) as (service, _rt):
        app = build_app(settings, service)
        freeze_startup_heap()  # as `serve` does once it has built the app
        try:
            with SlackHttpServer(app) as server:
                yield service, server
        finally:
            gc.unfreeze()


def _open_view(user: SlackUser) -> dict[str, Any] | None:
    try:
        return user.open_view(timeout=0)
    except LookupError:
        return None


def open_request_form(slack: SlackEmulator, user: SlackUser, channel: str) -> dict[str, Any]:
    """Type the command in `channel`, then wait for the form it opens. The app opens it after the ack (as
    late as the connection check's 0.4 s on a loaded machine), so a form left open before (a submission
    answered with errors) is still on screen for a moment: wait for the new one, as the admin does."""
    before = _open_view(user)
    response = user.slash_command(COMMAND, channel=channel)
    assert response.status == 200 and response.error is None, response

    def new_form() -> dict[str, Any] | None:
        view = _open_view(user)
        return view if view is not None and (before is None or view["id"] != before["id"]) else None

    return slack.wait_for(new_form, WAIT)


def fill_request_form(user: SlackUser, identifiers: list[str], *, kind: str = "reference") -> None:
    """Choose the identifier type and paste the identifiers, one per line, into the first box."""
    user.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, kind)
    user.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(identifiers))


def submit_request_form(user: SlackUser) -> dict[str, Any]:
    """Press Synchronize: the form itself becomes the confirmation; return it as the admin sees it."""
    submitted = user.submit()
    assert submitted.error is None and (submitted.json or {}).get("response_action") == "update", submitted
    view = user.open_view()
    assert view["callback_id"] == CallbackId.CONFIRM_MODAL, view
    return view


def draft_id(confirmation: dict[str, Any]) -> int:
    """The draft run a confirmation names (its only trace in Slack's state)."""
    return int(json.loads(confirmation["private_metadata"])["run_id"])


def confirm(user: SlackUser, service: RunService) -> BatchRun:
    """Press Confirm (the confirmation's submit button); return the run it queued."""
    run_id = draft_id(user.open_view())
    confirmed = user.submit()
    assert confirmed.error is None, confirmed
    return service.get(run_id)


def request_run(
    slack: SlackEmulator,
    user: SlackUser,
    service: RunService,
    identifiers: list[str],
    *,
    kind: str = "reference",
    channel: str,
) -> BatchRun:
    """The admin's whole request: command, form, Synchronize, Confirm; returns the queued run."""
    open_request_form(slack, user, channel)
    fill_request_form(user, identifiers, kind=kind)
    submit_request_form(user)
    return confirm(user, service)
