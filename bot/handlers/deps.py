"""What the listeners use: the run and connection services, the admin check, the request forms and the
settings, and where their work goes after the ack; never the store."""

from __future__ import annotations

from dataclasses import dataclass

from bot.admins import AdminCheck
from bot.forms import RequestForms
from bot.handlers.after_ack import AfterAck
from sync_engine import ConnectionService, RunService, Settings

__all__ = ["Deps"]


@dataclass(frozen=True, slots=True)
class Deps:
    service: RunService
    is_admin: AdminCheck
    settings: Settings
    connection: ConnectionService
    forms: RequestForms
    #: Where a listener's work goes once it has acknowledged.
    after_ack: AfterAck
