"""What the listeners use: the run and connection services, the admin check, the request forms and the
settings; never the store."""

from __future__ import annotations

from dataclasses import dataclass

from bot.admins import AdminCheck
from bot.forms import RequestForms
from sync_engine.connection import ConnectionService
from sync_engine.service import RunService
from sync_engine.settings import Settings

__all__ = ["Deps"]


@dataclass(frozen=True, slots=True)
class Deps:
    service: RunService
    is_admin: AdminCheck
    settings: Settings
    connection: ConnectionService
    forms: RequestForms
