"""Front ends plug into the engine without the engine importing them, through two entry point groups.

`workday_resync.commands`: `name = "package.module:register"`. The CLI calls `load_commands(app)` before
it reads the command line; `register(app)` adds the front end's commands (`workday-resync serve`).

`workday_resync.plugins`: `name = "package.module:install"`. Each process that runs jobs or serves users
calls `load_plugins(rt)` before binding the broker; `install(rt)` may declare actors with `jobs.register`
and subscribe run observers with `rt.events.subscribe`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points

import typer

from sync_engine.runtime import Runtime

__all__ = ["COMMAND_ENTRY_POINTS", "PLUGIN_ENTRY_POINTS", "load_commands", "load_plugins"]

log = logging.getLogger(__name__)

COMMAND_ENTRY_POINTS = "workday_resync.commands"
PLUGIN_ENTRY_POINTS = "workday_resync.plugins"

Plugin = Callable[[Runtime], None]
Commands = Callable[[typer.Typer], None]


def load_commands(app: typer.Typer) -> list[str]:
    """Let every front end add its commands to `app`; returns the names of those that did."""
    names: list[str] = []
    for entry_point in entry_points(group=COMMAND_ENTRY_POINTS):
        register: Commands = entry_point.load()
        register(app)
        names.append(entry_point.name)
    return names


def load_plugins(rt: Runtime) -> list[str]:
    """Install every plugin into `rt` once; returns the names installed now."""
    installed: list[str] = []
    for entry_point in entry_points(group=PLUGIN_ENTRY_POINTS):
        if entry_point.name in rt.plugins:
            continue
        plugin: Plugin = entry_point.load()
        plugin(rt)
        rt.plugins.add(entry_point.name)
        installed.append(entry_point.name)
        log.info("Plugin installed", extra={"plugin": entry_point.name})
    return installed
