"""User groups on Slack's side: `usergroups.users.list` (scope usergroups:read, Tier 2), answering the
member ids of a group as docs.slack.dev/reference/methods/usergroups.users.list shows them. Registered
with the Web API on import."""

from __future__ import annotations

from typing import Any

from devtools.slack_emulator.methods import ApiCall, register_method
from devtools.slack_emulator.state import ApiError, Workspace

__all__ = ["usergroups_users_list"]


def usergroups_users_list(ws: Workspace, call: ApiCall) -> dict[str, Any]:
    group = call.text("usergroup")
    if not group:
        raise ApiError("invalid_arguments", messages=["missing required field: usergroup"])
    members = ws.usergroups.get(group)
    if members is None:
        raise ApiError("no_such_subteam")
    # Deactivated members are not listed (they are no longer in the group's active membership).
    return {
        "users": [user_id for user_id in members if user_id in ws.users and not ws.users[user_id].deleted]
    }


register_method("usergroups.users.list", usergroups_users_list, ("usergroups:read",))
