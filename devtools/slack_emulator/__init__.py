"""A local Slack for end-to-end tests of the bot: Slack's Web API for the real `slack_sdk.WebClient`, and
Slack's client side (a user's slash commands, typing, clicks and submits) posting signed requests to the
Bolt app. It speaks Slack's wire format and enforces Slack's limits, so that what fails on Slack fails here.

    with SlackEmulator() as slack:
        slack.add_user("U_ADMIN", name="ana", is_admin=True)
        slack.add_channel("C_FIN", name="finance")
        client = WebClient(base_url=slack.api_url, token=slack.bot_token)
        user = slack.user("U_ADMIN", app_url="http://127.0.0.1:3000/slack/events")
        user.slash_command("/workday-resync", channel="C_FIN")
        print(slack.transcript())

The contract it implements is /work/coord/slack-contract.md.
"""

from __future__ import annotations

from devtools.slack_emulator.client import AppResponse, ClientRejected, SentRequest, SlackUser
from devtools.slack_emulator.emulator import SlackEmulator
from devtools.slack_emulator.knobs import DEFAULT_RATE_LIMITS, DEFAULT_SCOPES, SlackKnobs
from devtools.slack_emulator.surfaces import AppUser
from devtools.slack_emulator.transcript import AppDelivery, RecordedCall

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "DEFAULT_SCOPES",
    "AppDelivery",
    "AppResponse",
    "AppUser",
    "ClientRejected",
    "RecordedCall",
    "SentRequest",
    "SlackEmulator",
    "SlackKnobs",
    "SlackUser",
]
