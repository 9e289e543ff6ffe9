"""Live settings of a running emulator: Slack's limits (real values by default) and injected faults.

Knobs are read on every request, so tests change them on a running emulator (e.g. shrink a rate limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DEFAULT_RATE_LIMITS", "DEFAULT_SCOPES", "SlackKnobs"]

#: Calls per method per workspace per minute by Slack's tiers (docs.slack.dev/methods/*: t3 = 50, t4 = 100).
#: Methods left out are "special" (auth.test, chat.getPermalink) and not limited here; chat.postMessage is
#: limited per channel instead (see `channel_post_rate`).
DEFAULT_RATE_LIMITS: dict[str, int] = {
    "users.info": 100,
    "conversations.open": 50,
    "chat.postEphemeral": 100,
    "chat.update": 50,
    "chat.delete": 50,
    "views.open": 100,
    "views.update": 100,
    "views.push": 100,
    "views.publish": 100,
    "usergroups.users.list": 20,
    "files.getUploadURLExternal": 100,
    "files.completeUploadExternal": 100,
    "files.info": 100,
}

#: The bot scopes of our manifests (deploy/slack-manifest.*.yml): a method needing another one answers
#: `missing_scope`, as Slack does.
DEFAULT_SCOPES = frozenset({"commands", "chat:write", "files:read", "files:write", "im:write", "users:read"})


@dataclass(slots=True)
class SlackKnobs:
    """Change any of these at any time; the next request sees the new value."""

    #: Seconds added to every Web API call.
    latency: float = 0.0
    #: Seconds a method's answer is held after Slack has done the call, e.g. {"chat.update": 30}: the
    #: caller is still waiting (say, inside a lock) while the effect is already visible.
    answer_delay: dict[str, float] = field(default_factory=dict)
    #: Methods whose requests are held before Slack sees them, for as long as they are listed: the caller
    #: waits and nothing is visible yet. A held request whose caller is gone (killed) never arrives.
    hold_requests: set[str] = field(default_factory=set)
    #: Calls allowed per method within `rate_window` seconds (a sliding window); beyond it HTTP 429.
    rate_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    #: The window of `rate_limits`: 60 s on Slack; tests shrink it so that Retry-After stays short.
    rate_window: float = 60.0
    #: chat.postMessage per channel: "1 message per second, short bursts allowed" (a token bucket).
    channel_post_rate: float = 1.0
    #: Messages one channel takes at once before `channel_post_rate` applies (Slack's burst is unpublished).
    channel_post_burst: int = 5
    #: The next call of a method fails with this error, e.g. {"chat.update": "message_not_found"};
    #: "ratelimited" answers HTTP 429 with Retry-After: 1. Each entry is used once.
    fail_next: dict[str, str] = field(default_factory=dict)
    #: The upload URL answers HTTP 500, so `files_upload_v2` raises before files.completeUploadExternal.
    upload_fails: bool = False
    #: Seconds a trigger_id can be exchanged (once) for a modal.
    trigger_ttl: float = 3.0
    #: Seconds Slack waits for the app's HTTP answer to a command or interaction.
    ack_timeout: float = 3.0
    #: A response_url takes this many posts within `response_url_ttl` seconds.
    response_url_uses: int = 5
    response_url_ttl: float = 30 * 60.0
    #: The bot token's scopes.
    scopes: set[str] = field(default_factory=lambda: set(DEFAULT_SCOPES))
