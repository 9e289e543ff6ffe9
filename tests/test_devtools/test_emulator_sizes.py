"""The blocks' total size, as Slack checks it beyond each block's own limits: chat.postMessage,
chat.update and chat.postEphemeral answer `msg_blocks_too_long`, views `invalid_arguments`, over
13,000 characters of blocks (`limits.MAX_BLOCKS_CHARS`); response_url posts pass (bolt-js #2867)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from devtools.slack_emulator import SlackEmulator
from devtools.slack_emulator.limits import MAX_BLOCKS_CHARS


def sections(total: int) -> list[dict[str, Any]]:
    """Sections of 2,900 characters each (within a section's 3,000) totalling about `total` characters."""
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}
    return [section] * (total // len(json.dumps(section)) + 1)


def error_of(action: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        action()
    return str(raised.value.response["error"])


def test_messages_and_views_over_slacks_total_are_refused(slack: SlackEmulator, client: WebClient) -> None:
    fits, too_long = sections(11_000), sections(MAX_BLOCKS_CHARS)
    assert len(json.dumps(fits)) < MAX_BLOCKS_CHARS < len(json.dumps(too_long))
    posted = client.chat_postMessage(channel="C_FIN", text="x", blocks=fits)

    assert error_of(lambda: client.chat_postMessage(channel="C_FIN", text="x", blocks=too_long)) == (
        "msg_blocks_too_long"
    )
    assert error_of(
        lambda: client.chat_update(channel="C_FIN", ts=posted["ts"], text="x", blocks=too_long)
    ) == ("msg_blocks_too_long")
    assert (
        error_of(
            lambda: client.chat_postEphemeral(channel="C_FIN", user="U_ADMIN", text="x", blocks=too_long)
        )
        == "msg_blocks_too_long"
    )
    home = {"type": "home", "blocks": too_long}
    assert error_of(lambda: client.views_publish(user_id="U_ADMIN", view=home)) == "invalid_arguments"
    client.views_publish(user_id="U_ADMIN", view={"type": "home", "blocks": fits})
