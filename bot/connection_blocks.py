"""Block Kit for the Workday connection (pure: a `ConnectionStatus` in, dicts out): the modal's badge,
`/workday-resync status`, and the explanation given instead of the modal when Workday is not connected."""

from __future__ import annotations

from typing import Any

from bot.ids import COMMAND
from bot.messages import Message, not_configured, status_label
from bot.modal import TITLE
from bot.mrkdwn import clip, date_token, escape
from sync_engine import ConnectionStatus, Problem

__all__ = ["CHECKING", "badge", "not_connected", "not_connected_view", "status_message"]

#: The badge while the first check is still under way.
CHECKING = ":hourglass_flowing_sand: Checking the Workday connection…"
#: Room for the reason in one section (Slack allows 3,000 characters).
_REASON_ROOM = 2500

JsonDict = dict[str, Any]


def badge(status: ConnectionStatus | None) -> str:
    """One line of mrkdwn: green Connected, amber when Workday did not answer, red otherwise."""
    if status is None:
        return CHECKING
    where = f"tenant `{escape(status.tenant or 'not set')}` · {escape(status.api_version)}"
    if status.connected:
        verified = f" · verified {date_token(status.checked_at)}"
        return f":large_green_circle: *Connected* to Workday · {where}{verified}"
    if status.problem is Problem.UNAVAILABLE:
        return f":large_yellow_circle: *Workday did not answer the last check* · {where} · runs retry it"
    return f":red_circle: *Not connected* to Workday · {where}"


def _section(text: str) -> JsonDict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _reason(status: ConnectionStatus) -> str:
    return clip(status.reason or "", _REASON_ROOM)


def _last_run(status: ConnectionStatus) -> str:
    run = status.last_run
    if run is None:
        return "None yet"
    text = f"#{run.id} {status_label(run.status)} · {date_token(run.created_at)}"
    if run.error:
        text += f"\n{clip(run.error.splitlines()[0], 300)}"
    return text


def status_message(status: ConnectionStatus) -> Message:
    """`/workday-resync status`: the badge, the reason if any, tenant, version, last verified, last run."""
    verified = date_token(status.verified_at) if status.verified_at else "Never"
    fields = [
        f"*Tenant*\n{escape(status.tenant or 'not set')}",
        f"*API version*\n{escape(status.api_version)}",
        f"*Last verified*\n{verified}",
        f"*Last run*\n{_last_run(status)}",
    ]
    blocks: list[JsonDict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Workday connection"}},
        _section(badge(status)),
    ]
    if status.reason:
        blocks.append(_section(f"*Why:* {_reason(status)}"))
    blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]})
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Checked {date_token(status.checked_at)}"}],
        }
    )
    state = "connected" if status.connected else f"not connected: {clip(status.reason or '', 2000)}"
    return Message(text=f"Workday is {state}", blocks=blocks)


def not_connected(status: ConnectionStatus) -> Message:
    """What `/workday-resync` answers instead of opening the form when runs cannot work."""
    if status.problem is Problem.SETTINGS_MISSING:
        return not_configured(status.reason or "")
    text = (
        ":red_circle: *Workday is not connected*, so no customers can be synchronized until the app's "
        f"operators fix it: {_reason(status)}"
    )
    more = f"`{COMMAND} status` shows the tenant, when it was last verified and the last run."
    blocks = [_section(text), {"type": "context", "elements": [{"type": "mrkdwn", "text": more}]}]
    return Message(text=f"Workday is not connected: {clip(status.reason or '', 2000)}", blocks=blocks)


def not_connected_view(status: ConnectionStatus) -> JsonDict:
    """The form, replaced by the explanation when a check that finished after it opened failed."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": TITLE},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": not_connected(status).blocks,
    }
