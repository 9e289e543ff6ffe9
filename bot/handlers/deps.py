"""What the listeners use: the run and connection services, the admin check, the request forms and the
settings; never the store."""

from __future__ import annotations

from dataclasses import dataclass

from bot.admins import AdminCheck
from bot.forms import RequestForms
from bot.messages import Message, refusal
from bot.settings import AppSettings
from sync_engine import ConnectionService, RunService

__all__ = ["Deps"]


@dataclass(frozen=True, slots=True)
class Deps:
    service: RunService
    is_admin: AdminCheck
    settings: AppSettings
    connection: ConnectionService
    forms: RequestForms

    def refusal(self) -> Message:
        """What a user who is not an admin is told (naming RESYNC_ADMIN_USERGROUP when set)."""
        return refusal(self.settings.resync_admin_usergroup)
