"""The seam between deciding that work must run and sending it to the broker."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Dispatcher"]


class Dispatcher(Protocol):
    """Sends jobs; `sync_engine.jobs.DramatiqDispatcher` is the real one."""

    def start_run(self, run_id: int) -> None: ...

    def sync_customer(self, item_id: int) -> None: ...
