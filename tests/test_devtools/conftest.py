"""Fixtures of the emulator's tests: a Bolt app served over HTTP (as the bot would be), for the emulator's
client side to post signed requests to; a small workspace (`slack`, which a module may replace) and the
real WebClient on it."""

from __future__ import annotations

from collections.abc import Iterator
from wsgiref.simple_server import make_server

import pytest
from kits.bolt_app import Bolt, QuietHandler, ThreadingWSGIServer
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from devtools.slack_emulator import SlackEmulator
from sync_engine.server_thread import ServerThread


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_user("U_ADMIN", name="ana", is_admin=True)
        emulator.add_user("U_PLAIN", name="bob")
        emulator.add_channel("C_FIN", name="finance")
        yield emulator


@pytest.fixture
def client(slack: SlackEmulator) -> WebClient:
    return WebClient(base_url=slack.api_url, token=slack.bot_token)


@pytest.fixture
def bolt(slack: SlackEmulator, client: WebClient) -> Iterator[Bolt]:
    app = App(signing_secret=slack.signing_secret, client=client)
    server = make_server(
        "127.0.0.1",
        0,
        SlackRequestHandler(app),
        server_class=ThreadingWSGIServer,
        handler_class=QuietHandler,
    )
    thread = ServerThread(server, "bolt-wsgi")
    thread.start()
    yield Bolt(app, f"http://127.0.0.1:{server.server_port}/slack/events")
    thread.stop()
