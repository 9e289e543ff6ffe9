"""Only requests Slack signed reach the app (HTTP mode).

`signed_by_slack` replaces Bolt's own request verification, which logs the whole raw body of every
request that fails (Slack's verification token, a `response_url` that can post into the channel, what
was typed) and answers 500 with a traceback to a timestamp that is not a number. Here a failure is one
warning line saying why, with nothing of the request, and a 401.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_bolt import BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

__all__ = ["signed_by_slack"]

log = logging.getLogger(__name__)

#: Slack's window for a request's timestamp.
MAX_AGE_SECONDS = 5 * 60


def _header(req: BoltRequest, name: str) -> str | None:
    values = req.headers.get(name)
    return values[0] if values else None


def signed_by_slack(
    signing_secret: str, clock: Callable[[], float] = time.time
) -> Callable[[BoltRequest, Callable[[], BoltResponse]], BoltResponse]:
    """The middleware (Bolt's `before_authorize`, first after the ssl_check answer): 401 unless the request
    carries Slack's signature of its body, made in the last five minutes."""
    verifier = SignatureVerifier(signing_secret)

    def verify_signature(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:
        timestamp = _header(req, "x-slack-request-timestamp")
        signature = _header(req, "x-slack-signature")
        if not timestamp or not signature:
            reason = "no signature"
        elif not (timestamp.isascii() and timestamp.isdigit()):
            reason = "timestamp not a number"
        elif abs(clock() - int(timestamp)) > MAX_AGE_SECONDS:
            reason = "timestamp older than five minutes"
        elif not verifier.is_valid(req.raw_body, timestamp, signature):
            reason = "signature does not match"
        else:
            return next()
        log.warning("Slack request refused: bad signature", extra={"reason": reason})
        return BoltResponse(status=401, body='{"error": "invalid request"}')

    return verify_signature
