"""The Slack app's settings, from the environment or `.env` like the engine's (`sync_engine.Settings`),
which knows nothing of Slack; a missing or malformed one fails in one line naming it.

`SlackSettings` holds the Slack side's own; `AppSettings` is what a Slack app process reads: the
engine's settings and these, from one environment (`serve`, and whatever builds the app in-process).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sync_engine import Settings, read_settings

__all__ = ["AppSettings", "SlackSettings", "load_app_settings", "load_slack_settings"]


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = Field(default="https://slack.com/api/", pattern=r"^https?://\S+/$")
    resync_admin_user_ids: Annotated[tuple[str, ...], NoDecode] = ()
    #: A Slack user group ("S…") whose members are the admins, instead of every workspace admin.
    resync_admin_usergroup: str | None = Field(default=None, pattern=r"^S[A-Z0-9_]{2,}$")
    #: The channel ("C…"/"G…") every status message and records file goes to, wherever the request began.
    resync_status_channel: str | None = Field(default=None, pattern=r"^[CG][A-Z0-9_]{2,}$")
    #: Seconds between two updates of one Slack status message (final states are never held back).
    slack_status_interval: float = Field(default=3.0, gt=0, le=600)
    #: chat.update calls per minute for the whole workspace, every run together (Slack's Tier 3: 50).
    slack_updates_per_minute: float = Field(default=40.0, gt=0, le=1000)
    # `serve --http` (waitress; see bot/http_server.py). An idle connection holds a descriptor, never a
    # thread: the cap keeps descriptors below the process's limit.
    #: Seconds a connection may stay idle (mid-request or between requests) before it is closed: longer
    #: than a load balancer's keep-alive (60 s on the common ones), so the balancer closes first.
    slack_http_idle_timeout: int = Field(default=75, ge=1, le=3600)
    #: Connections open at once; past it, new ones wait in the listen backlog.
    slack_http_max_connections: int = Field(default=4000, ge=10, le=1_000_000)
    #: The listen backlog (the kernel caps it at net.core.somaxconn).
    slack_http_backlog: int = Field(default=1024, ge=1, le=65535)
    #: Threads running complete requests (each waits for its listener's ack: milliseconds, seconds at most).
    slack_http_threads: int = Field(default=32, ge=1, le=256)

    @field_validator("resync_admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.replace(";", ",").split(",") if part.strip())
        return value


class AppSettings(Settings, SlackSettings):
    """A Slack app process's settings: the engine's and the Slack side's, from one environment."""


@cache
def load_slack_settings() -> SlackSettings:
    """The Slack side's settings, read once per process (a worker's: the engine read its own)."""
    return read_settings(SlackSettings)


@cache
def load_app_settings() -> AppSettings:
    """The engine's and the Slack side's settings, read once per process."""
    return read_settings(AppSettings)
