"""Who may use the app: the members of a Slack user group (RESYNC_ADMIN_USERGROUP), else workspace
admins and owners (users.info); and the users of an allowlist either way. Answers are cached briefly.

Checked at every entry point, inside Slack's 3-second budget: the allowlist costs nothing, a cached
answer costs nothing; a users.info call (Tier 4) is made at most once per user per `ttl`, and with a
user group one usergroups.users.list (Tier 2) per `ttl` answers for everyone.
Anything unexpected (unknown user or group, Slack unreachable) counts as "not an admin" and is not cached.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

__all__ = ["ADMIN_CACHE_SECONDS", "AdminCheck"]

log = logging.getLogger(__name__)

#: How long a users.info answer is trusted: short, so a demoted admin loses access within a minute.
ADMIN_CACHE_SECONDS = 60.0


class AdminCheck:
    def __init__(
        self,
        client: WebClient,
        allowed: Iterable[str] = (),
        *,
        ttl: float = ADMIN_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        usergroup: str | None = None,
    ) -> None:
        self._client = client
        self._usergroup = usergroup
        #: (asked at, members) of the user group.
        self._members: tuple[float, frozenset[str]] | None = None
        self._allowed = frozenset(allowed)
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, bool]] = {}
        self._user_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __call__(self, user_id: str | None) -> bool:
        """True if `user_id` may start, confirm, cancel runs and read history."""
        if not user_id:
            return False
        if user_id in self._allowed:
            return True
        with self._lock:
            user_lock = self._user_locks.setdefault(user_id, threading.Lock())
        # One users.info per user at a time: concurrent requests (keystrokes, a double click) share it.
        with user_lock:
            now = self._clock()
            with self._lock:
                cached = self._cache.get(user_id)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
            return self._ask_slack(user_id, now)

    def _ask_slack(self, user_id: str, now: float) -> bool:
        if self._usergroup is not None:
            return self._in_group(self._usergroup, user_id, now)
        try:
            user = self._client.users_info(user=user_id)["user"]
        except (SlackClientError, OSError, KeyError, TypeError) as error:
            log.warning("Could not check a user's admin rights", extra={"user": user_id, "error": str(error)})
            return False
        admin = bool(
            (user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
            and not user.get("deleted")
            and not user.get("is_bot")
        )
        with self._lock:
            self._cache[user_id] = (now, admin)
        return admin

    def _in_group(self, usergroup: str, user_id: str, now: float) -> bool:
        with self._lock:
            members = self._members
        if members is None or now - members[0] >= self._ttl:
            try:
                users = self._client.usergroups_users_list(usergroup=usergroup)["users"]
            except (SlackClientError, OSError, KeyError, TypeError) as error:
                log.warning(
                    "Could not read the admins' user group",
                    extra={"usergroup": usergroup, "error": str(error)},
                )
                return False
            members = (now, frozenset(user for user in users if isinstance(user, str)))
            with self._lock:
                self._members = members
        return user_id in members[1]
