"""What the listeners use: the run and connection services, the admin check, the request forms and the
settings, and where their work goes after the ack; never the store."""

from __future__ import annotations

from dataclasses import dataclass

from bot.admins import AdminCheck
from bot.forms import RequestForms
from bot.handlers.after_ack import AfterAck
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
    #: Where a listener's work goes once it has acknowledged.
    after_ack: AfterAck

    def refusal(self) -> Message:
        """What a user who is not an admin is told (naming RESYNC_ADMIN_USERGROUP when set)."""
        return refusal(self.settings.resync_admin_usergroup)
