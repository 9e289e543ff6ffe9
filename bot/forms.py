"""The request form as the app sends it, and the check of a submitted one.

`private_metadata` (the channel the command came from, the connection badge) travels through Slack and
comes back in every payload of the form. The app seals it: a `seal` field holding an HMAC-SHA256, with a
key derived from the signing secret, of the user the form was opened for and the other fields. An altered
metadata, or one sealed for another user, is refused, so a submission cannot name a channel the form was
not opened from. A
submission must also name a view the app opened for that user (`bot.opened_views`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

from slack_sdk import WebClient

from bot.modal import ModalMetadata, request_modal
from bot.opened_views import OpenedViews
from sync_engine import IdentifierType

__all__ = ["RequestForms"]

JsonDict = dict[str, Any]

#: Seconds a submitted form the app sealed for its user may wait to be known as opened (the ack has 3).
OPENED_WAIT_SECONDS = 1.0
#: Derives the sealing key from the app's secret, so the secret itself signs nothing but Slack's requests.
_KEY_PURPOSE = b"workday-resync/request-form/private_metadata/v1"


class RequestForms:
    """Opens and renders the request form for a user; tells a form it sent from a forged one."""

    def __init__(self, secret: str, opened: OpenedViews, *, reason_required: bool = False) -> None:
        self._key = hmac.new(secret.encode(), _KEY_PURPOSE, hashlib.sha256).digest()
        self._opened = opened
        #: RESYNC_REQUIRE_REASON: every rendering of the form marks its reason required alike.
        self._reason_required = reason_required

    def render(
        self,
        user_id: str,
        *,
        channel_id: str,
        count: int = 0,
        identifier_type: IdentifierType = IdentifierType.SOURCE_ID,
        connection: str | None = None,
        identifiers: Sequence[str] = (),
        default_channel: str | None = None,
        rerun_of: int | None = None,
        reason: str = "",
    ) -> JsonDict:
        """`request_modal` with its metadata sealed for `user_id`."""
        view = request_modal(
            channel_id=channel_id,
            count=count,
            identifier_type=identifier_type,
            connection=connection,
            identifiers=identifiers,
            default_channel=default_channel,
            rerun_of=rerun_of,
            reason=reason,
            reason_required=self._reason_required,
        )
        return self.sealed(user_id, view)

    def sealed(self, user_id: str, view: JsonDict) -> JsonDict:
        """`view` (a step of the request form) with its metadata sealed for `user_id`."""
        return {**view, "private_metadata": self._seal(user_id, view["private_metadata"])}

    def open(self, client: WebClient, user_id: str, trigger_id: str, view: JsonDict) -> JsonDict:
        """views.open, remembering the view for `user_id`; the view as Slack returned it."""
        opened: JsonDict = client.views_open(trigger_id=trigger_id, view=view)["view"]
        self._opened.remember(user_id, opened["id"])
        return opened

    def metadata(self, user_id: str, view: JsonDict) -> ModalMetadata | None:
        """The metadata the app sealed for `user_id` in `view`; None if it was altered or not theirs."""
        try:
            data = json.loads(view.get("private_metadata") or "")
        except (TypeError, ValueError, RecursionError):  # not text, not JSON, nested beyond reading
            return None
        seal = data.pop("seal", None) if isinstance(data, dict) else None
        if not isinstance(seal, str) or not hmac.compare_digest(
            _bytes(seal), _bytes(self._mac(user_id, data))
        ):
            return None
        return ModalMetadata.loads(json.dumps(data))

    def submitted(self, user_id: str, view: JsonDict) -> ModalMetadata | None:
        """The metadata of a form the app opened for `user_id` and sealed for them, else None.

        `OpenedViewsUnavailable` when the opened views cannot be read."""
        metadata = self.metadata(user_id, view)
        view_id = view.get("id")
        if metadata is None or not isinstance(view_id, str):
            return None
        # The app remembers a form once views.open has answered it; a form it sealed for this user may be
        # submitted a moment before that (a fast client, a slow Redis): give it that moment.
        deadline = time.monotonic() + OPENED_WAIT_SECONDS
        while not self._opened.opened_for(user_id, view_id):
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
        return metadata

    def _seal(self, user_id: str, text: str) -> str:
        data = json.loads(text)
        return json.dumps({**data, "seal": self._mac(user_id, data)})

    def _mac(self, user_id: str, data: JsonDict) -> str:
        # One text per content (key order and spacing aside); the user length-prefixed, so that no other
        # user and content pair reads the same.
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        digest = hmac.new(self._key, _bytes(f"{len(user_id)}:{user_id}:{canonical}"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _bytes(text: str) -> bytes:
    # A forged payload may carry lone surrogates (JSON allows them): compare them, never fail on them.
    return text.encode("utf-8", "surrogatepass")
