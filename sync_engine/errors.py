"""Errors the engine raises, each with a message an admin can act on.

    ResyncError
    ├── SettingsError                 a setting is missing or malformed (ours to fix)
    ├── SetupError                    a service we need (store, Redis, Slack) does not answer or refuses us
    ├── IdentifierError               pasted identifiers are unusable (the admin's to fix)
    ├── RunNotFoundError              no run with that id
    └── WorkdayError
        ├── WorkdayTransientError     throttled, 5xx, timeout, unreachable: retry later
        │   └── WorkdayUnresponsiveError  Workday stopped answering (hung): the run stops
        └── WorkdayPermanentError     retrying the same request cannot succeed
            ├── WorkdayNotFoundError      a reference Workday does not know
            └── WorkdayConfigurationError credentials, permissions, tenant or version
                ├── WorkdayCredentialsError   the token endpoint rejected the API client or its grant
                └── WorkdayNotAuthorizedError the integration user may not call an operation

Jobs retry only `WorkdayTransientError`; a `WorkdayConfigurationError` or `WorkdayUnresponsiveError`
stops the whole run because every other customer would fail (or wait) the same way.
"""

from __future__ import annotations

__all__ = [
    "IdentifierError",
    "ResyncError",
    "RunNotFoundError",
    "SettingsError",
    "SetupError",
    "WorkdayConfigurationError",
    "WorkdayCredentialsError",
    "WorkdayError",
    "WorkdayNotAuthorizedError",
    "WorkdayNotFoundError",
    "WorkdayPageTooLargeError",
    "WorkdayPermanentError",
    "WorkdayTransientError",
    "WorkdayUnresponsiveError",
]


class ResyncError(Exception):
    """Base of every error this service raises on purpose."""


class SettingsError(ResyncError):
    """A setting is missing or malformed; the message names it in one line."""


class SetupError(ResyncError):
    """The store, Redis or Slack cannot be reached or refuses us; the message names the setting and what
    to check, in one line (the operator's to fix)."""


class IdentifierError(ResyncError):
    """The pasted identifiers cannot be used as they are."""


class RunNotFoundError(ResyncError):
    """No batch run has the given id."""


class WorkdayError(ResyncError):
    """Workday did not give us what we asked for."""


class WorkdayTransientError(WorkdayError):
    """Throttling, a 5xx, a timeout or a broken connection: the same request may succeed later."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        #: HTTP status of the last attempt, if Workday answered at all.
        self.status = status


class WorkdayPageTooLargeError(WorkdayTransientError):
    """A page request timed out or was broken off after it was sent: Workday aborts requests that would
    return too much data, so a smaller page may pass."""


class WorkdayUnresponsiveError(WorkdayTransientError):
    """Workday took every request but answered none in time: waiting longer only holds the tenant's slots."""


class WorkdayPermanentError(WorkdayError):
    """Workday refused the request itself; sending it again cannot succeed."""


class WorkdayNotFoundError(WorkdayPermanentError):
    """Workday does not know a reference we sent."""


class WorkdayConfigurationError(WorkdayPermanentError):
    """Our Workday connection is wrong: credentials, permissions, tenant, host or API version."""


class WorkdayCredentialsError(WorkdayConfigurationError):
    """The token endpoint rejected the API client (invalid_client) or its refresh token (invalid_grant)."""


class WorkdayNotAuthorizedError(WorkdayConfigurationError):
    """The integration user lacks permission for an operation we call."""
