"""The Slack app under measurement in a process of its own, as `serve --http` runs it without Redis (the
engine with its embedded worker): the Slack emulator and the Workday sandbox stay in the benchmark's
process and the users' requests leave from another (`slack_edge`), as Slack, its users and Workday are
other machines. In one process their threads took turns on the app's GIL, and the acks measured the
harness as much as the app.

The benchmark drives the engine through a pipe: submit a run, read a run.
"""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from bot.settings import AppSettings
from sync_engine.domain import BatchRun, IdentifierType

__all__ = ["AppProcess"]

#: Longest the app may take to start, or to answer one command, before it counts as stuck.
ANSWER_TIMEOUT = 120.0


class AppProcess:
    """`with AppProcess(settings) as app:` the app serving on `app.url`; `app.submit(wids)` queues a run
    by WID (as the CLI does), `app.get(run_id)` reads one."""

    def __init__(self, settings: AppSettings) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, settings), name="bench-slack-app")
        self._lock = threading.Lock()
        self.url = ""

    def __enter__(self) -> AppProcess:
        self._process.start()
        self.url = self._answer("started")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process.is_alive():
            self._connection.send(("stop",))
        self._process.join(timeout=60)
        if self._process.is_alive():
            self._process.kill()

    def submit(self, wids: list[str]) -> int:
        run_id: int = self._call("submit", wids)
        return run_id

    def get(self, run_id: int) -> BatchRun:
        run: BatchRun = self._call("get", run_id)
        return run

    def _call(self, command: str, argument: Any) -> Any:
        with self._lock:
            self._connection.send((command, argument))
            return self._answer(command)

    def _answer(self, what: str) -> Any:
        if not self._connection.poll(ANSWER_TIMEOUT):
            raise RuntimeError(f"The benchmark's Slack app gave no {what!r} within {ANSWER_TIMEOUT:g} s.")
        try:
            outcome, value = self._connection.recv()
        except EOFError:
            raise RuntimeError(f"The benchmark's Slack app died (exit {self._process.exitcode}).") from None
        if outcome == "error":
            raise RuntimeError(f"The benchmark's Slack app failed: {value}")
        return value


def _serve(connection: Connection, settings: AppSettings) -> None:
    """The child: serve the app, then run the benchmark's commands until told to stop."""
    # Imported here: the benchmark's own process needs none of the app's machinery.
    from devtools.slack_admin import serving_app

    try:
        with serving_app(settings) as (service, server):
            connection.send(("ok", server.url))
            while (message := connection.recv())[0] != "stop":
                command, argument = message
                if command == "submit":
                    run = service.submit(IdentifierType.SOURCE_ID, argument, requested_by="bench")
                    connection.send(("ok", run.id))
                else:
                    connection.send(("ok", service.get(argument)))
    except BaseException as error:
        connection.send(("error", f"{type(error).__name__}: {error}"))
        raise
