"""Is Workday connected? One token refresh, then one cheapest request per operation a sync calls.

The outcome names the first thing an operator must fix: the token endpoint rejecting the client or its
grant, a tenant the host does not serve, the operations the integration user may not call, or Workday
refusing or not answering. Messages come from our own errors, which never carry a secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sync_engine.clock import utcnow
from sync_engine.errors import (
    WorkdayConfigurationError,
    WorkdayCredentialsError,
    WorkdayError,
    WorkdayNotAuthorizedError,
    WorkdayTransientError,
)
from sync_engine.workday.client import OPERATIONS, WorkdayClient
from sync_engine.workday.transport import RetryPolicy

__all__ = ["CHECK_RETRY", "CHECK_TIMEOUT", "Problem", "WorkdayCheck", "check_workday"]

#: One attempt per request: the check reports what Workday answers now, in seconds, at a known cost.
CHECK_RETRY = RetryPolicy(attempts=1)
#: Seconds a check's request may take (at most WORKDAY_TIMEOUT). Each probe asks for the narrowest query
#: its operation takes, yet it is a cold page 1 (Workday builds its result cache then, seconds on a busy
#: tenant): a minute, not the 10 s that made a large tenant read as unavailable. Slack never waits on it
#: (the check runs in the background).
CHECK_TIMEOUT = 60.0


class Problem(StrEnum):
    """Why Workday is not connected."""

    SETTINGS_MISSING = "settings_missing"
    CREDENTIALS_REJECTED = "credentials_rejected"
    UNKNOWN_TENANT = "unknown_tenant"
    NOT_AUTHORIZED = "not_authorized"
    #: Workday refused a request for another reason (e.g. an API version the tenant does not accept).
    REFUSED = "refused"
    #: Throttled, down or unreachable: the same check may pass in a minute.
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class WorkdayCheck:
    """The outcome of one check (JSON-serialisable, to share it between processes)."""

    problem: Problem | None
    #: What to fix, when not connected.
    reason: str | None
    checked_at: datetime

    @property
    def connected(self) -> bool:
        return self.problem is None

    def to_json(self) -> str:
        return json.dumps(
            {
                "problem": self.problem.value if self.problem else None,
                "reason": self.reason,
                "checked_at": self.checked_at.isoformat(),
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> WorkdayCheck:
        data = json.loads(text)
        return cls(
            problem=Problem(data["problem"]) if data["problem"] else None,
            reason=data["reason"],
            checked_at=datetime.fromisoformat(data["checked_at"]),
        )


def check_workday(client: WorkdayClient) -> WorkdayCheck:
    """Refresh the token through `client`, then probe each operation; every operation is tried, so one
    check names every permission missing."""
    try:
        client.refresh_token()
    except WorkdayError as error:
        return WorkdayCheck(*_token_problem(error), utcnow())
    unauthorized: list[str] = []
    other: WorkdayError | None = None
    for operation in OPERATIONS:
        try:
            client.probe(operation)
        except WorkdayNotAuthorizedError:
            unauthorized.append(operation)
        except WorkdayError as error:
            other = other or error
    if unauthorized:
        reason = (
            f"The integration user is not authorized for {', '.join(_label(o) for o in unauthorized)}: "
            "grant its security group Get access to "
            f"{'that web service' if len(unauthorized) == 1 else 'those web services'} in Workday, then "
            "activate pending security policy changes."
        )
        return WorkdayCheck(Problem.NOT_AUTHORIZED, reason, utcnow())
    if other is not None:
        problem = Problem.UNAVAILABLE if isinstance(other, WorkdayTransientError) else Problem.REFUSED
        return WorkdayCheck(problem, str(other), utcnow())
    return WorkdayCheck(None, None, utcnow())


def _token_problem(error: WorkdayError) -> tuple[Problem, str]:
    if isinstance(error, WorkdayCredentialsError):
        return Problem.CREDENTIALS_REJECTED, str(error)
    if isinstance(error, WorkdayConfigurationError):
        # Before any operation, only the tenant or host can be wrong (the token endpoint answered 404).
        return Problem.UNKNOWN_TENANT, str(error)
    if isinstance(error, WorkdayTransientError):
        # Including a 503, which is maintenance as often as an unknown tenant: the message names both.
        return Problem.UNAVAILABLE, str(error)
    return Problem.REFUSED, str(error)


def _label(operation: str) -> str:
    return "the invoices and credit notes list (REST)" if operation == "invoices" else operation
