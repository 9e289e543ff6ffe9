"""What the listeners use: the run service, the admin check and the settings; never the store."""

from __future__ import annotations

from dataclasses import dataclass

from bot.admins import AdminCheck
from sync_engine.errors import SettingsError
from sync_engine.service import RunService
from sync_engine.settings import Settings

__all__ = ["Deps"]


@dataclass(frozen=True, slots=True)
class Deps:
    service: RunService
    is_admin: AdminCheck
    settings: Settings

    def workday_problem(self) -> str | None:
        """Why Workday cannot be used (a setting missing), or None when it is configured."""
        try:
            self.settings.workday()
        except SettingsError as error:
            return str(error)
        return None
