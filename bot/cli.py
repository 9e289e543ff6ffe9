"""The Slack app's commands in `workday-resync`: `serve`.

Declared as the `slack` entry point of `workday_resync.commands`: the CLI calls `register(app)` before it
reads the command line (see `sync_engine.plugins`), so the engine never imports the Slack side.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sync_engine import service_command

__all__ = ["register", "serve"]


def serve(
    http: Annotated[
        bool, typer.Option("--http", help="Receive Slack's requests at POST /slack/events (no Socket Mode).")
    ] = False,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port for --http.")] = 3000,
    host: Annotated[str, typer.Option(help="Address for --http.")] = "0.0.0.0",
) -> None:
    """Run the Slack app: Socket Mode with SLACK_APP_TOKEN, else --http (GET /healthz for probes)."""
    # Imported here: every `workday-resync` command registers this one, only `serve` needs Bolt.
    from bot.serve import serve as serve_slack
    from bot.settings import load_app_settings

    serve_slack(load_app_settings(), http=http, host=host, port=port)


def register(app: typer.Typer) -> None:
    """Add `serve` to the `workday-resync` CLI."""
    app.command()(service_command(serve))
