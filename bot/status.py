"""The run's live status message in Slack: posted once, updated as the run works, final state always.

`StatusUpdater.handle(run_id)` is what the `update_slack_status` actor runs (see `bot.plugin`), in
whichever worker process picks the message up. Each call renders the run's *current* state from the
run service, so updates coalesce: of many queued calls, any one shows everything committed before it.

- One updater per message at a time: a short per-run lock (`bot.coordination`), renewed every second
  while its holder works, so a killed holder's lock is gone within `lock_ttl` (5 s) and the final state
  still reaches Slack within seconds. A call that finds it taken flags a trailing update instead of
  waiting; a holder that lost it (stalled past the TTL) queues another update, which shows the newest.
- Throttled: one message is updated at most every `min_interval` seconds, and the workspace's
  chat.update calls stay within `per_minute` (Tier 3 is 50+ per minute, shared by every run). A call
  that must wait flags one trailing update, queued with that delay; more calls while it is queued add
  nothing. Final states skip the throttle but still take the lock.
- Slack's 429: no call until its Retry-After (shared by all processes), and this update is queued again
  with that delay; the worker thread is not held.
- Once-only side effects (post the message, upload the records file, post the error reply) claim a run
  note first (`RunService.claim_note`), so a redelivered message never repeats them. A claim left by a
  holder that died (it no longer holds the lock, we do) is superseded by a new claim.
- The app cannot post in the channel (not a member, archived…): the message goes to the requester's DM.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from tenacity import Retrying, stop_after_attempt, wait_exponential

from bot import messages
from bot.coordination import Coordination, LastUpdate, LockHeartbeat
from bot.web_api import NO_ACCESS, error_code, open_dm, retry_after
from sync_engine import BatchRun, RunNotFoundError, RunService, RunStatus

__all__ = ["RateLimited", "StatusPolicy", "StatusUpdater", "TransientSlackError"]

log = logging.getLogger(__name__)

#: Slack errors worth trying again later (Dramatiq retries the message).
TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


@dataclass(frozen=True, slots=True)
class StatusPolicy:
    #: Seconds between two updates of one status message (final states excepted).
    min_interval: float = 3.0
    #: Seconds a deferred update waits when another process is updating the same message.
    busy_retry: float = 1.0
    #: Lifetime of the per-run lock without renewal: how long a killed holder keeps it.
    lock_ttl: float = 5.0
    #: How often a live holder renews it (well inside `lock_ttl`, whatever a Slack call takes).
    lock_renew_every: float = 1.0


class RateLimited(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited for {seconds} s")
        self.seconds = seconds


class TransientSlackError(Exception):
    """Slack failed in a way worth retrying (5xx-like errors); the actor's retries handle it."""


Schedule = Callable[[int, bool, float], None]


def _digest(message: messages.Message) -> str:
    return hashlib.sha256(json.dumps(message.kwargs(), sort_keys=True).encode()).hexdigest()


def records_filename(run: BatchRun) -> str:
    return f"workday-resync-run-{run.id}-identifiers.txt"


class StatusUpdater:
    def __init__(
        self,
        service: RunService,
        client: WebClient,
        coordination: Coordination,
        schedule: Schedule,
        policy: StatusPolicy | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._service = service
        self._client = client
        self._coordination = coordination
        #: Queue `handle(run_id, final=…, trailing=True)` after a delay in seconds (the actor, later).
        self._schedule = schedule
        self._policy = policy or StatusPolicy()
        self._clock = clock

    # --- entry point ------------------------------------------------------------------------------

    def handle(self, run_id: int, *, final: bool = False, trailing: bool = False) -> None:
        """Bring the run's Slack message up to date now, or make sure a later call will."""
        if trailing:
            final = self._coordination.take_trailing(run_id) or final
        token = self._coordination.acquire(run_id, self._policy.lock_ttl)
        if token is None:
            self._defer(run_id, final, self._policy.busy_retry if final else self._policy.min_interval)
            return
        heartbeat = LockHeartbeat(
            self._coordination, run_id, token, ttl=self._policy.lock_ttl, every=self._policy.lock_renew_every
        )
        try:
            with heartbeat:
                self._update(run_id, final, token)
        except RateLimited as limited:
            self._coordination.pause(self._clock() + limited.seconds)
            log.warning(
                "Slack rate limit: status update deferred",
                extra={"run_id": run_id, "seconds": limited.seconds},
            )
            self._defer(run_id, final, limited.seconds)
        except SlackApiError as error:
            # Retrying cannot help (invalid_auth, message_not_found, a refused block): say so, once.
            log.error("Slack refused a status update", extra={"run_id": run_id, "error": error_code(error)})
        finally:
            self._coordination.release(run_id, token)
        if heartbeat.lost:
            # Our update may have landed after a newer one made while we stalled: show the newest again.
            self._defer(run_id, final, self._policy.busy_retry)

    def _defer(self, run_id: int, final: bool, delay: float) -> None:
        if self._coordination.request_trailing(run_id, final=final, ttl=delay + 30):
            self._schedule(run_id, final, max(delay, 0.05))

    # --- under the run's lock ---------------------------------------------------------------------

    def _update(self, run_id: int, final: bool, token: str) -> None:
        try:
            run = self._service.get(run_id)
        except RunNotFoundError:
            return
        if run.slack_channel is None or run.status in (RunStatus.DRAFT, RunStatus.CANCELLED):
            return  # a terminal run, or not confirmed: no status message
        final = final or run.is_final
        message = messages.status_message(run)
        shows_final = run.is_final
        if run.slack_message_ts is None:
            self._once(run, "status_message", token, lambda: self._post(run, message))
            run = self._service.get(run_id)
        elif not self._edit(run, message, final):
            return  # deferred
        if run.slack_message_ts is None:
            return
        try:
            self._once(run, "records_file", token, lambda: self._upload_records(run))
        finally:
            # A records file that cannot be uploaded (retried later) must not hold the error back.
            if run.status is RunStatus.ERROR:
                self._once(run, "error_reply", token, lambda: self._post_error(run))
        if shows_final and "final_shown" not in run.notes:
            # Everything the final state owes the admin is done (see `bot.plugin.catch_up`).
            self._service.save_notes(run.id, final_shown=_digest(message))

    def _edit(self, run: BatchRun, message: messages.Message, final: bool) -> bool:
        """chat.update within the throttle; False when deferred."""
        assert run.slack_channel is not None and run.slack_message_ts is not None
        now = self._clock()
        digest = _digest(message)
        last = self._coordination.last_update(run.id)
        if last is not None and last.digest == digest:
            return True  # nothing new to show
        if last is None and run.notes.get("final_shown") == digest:
            return True  # shown before this process started
        if not final and last is not None and now - last.at < self._policy.min_interval:
            self._defer(run.id, final, last.at + self._policy.min_interval - now)
            return False
        wait = self._coordination.reserve(now, force=final)
        if wait > 0:
            self._defer(run.id, final, wait)
            return False
        self._call(
            self._client.chat_update, channel=run.slack_channel, ts=run.slack_message_ts, **message.kwargs()
        )
        self._coordination.record_update(run.id, LastUpdate(self._clock(), digest))
        log.info("Slack status updated", extra={"run_id": run.id, "status": run.status.value})
        return True

    # --- once-only effects ------------------------------------------------------------------------

    def _once(self, run: BatchRun, name: str, token: str, action: Callable[[], dict[str, Any]]) -> None:
        """Run `action` once per run across processes and redeliveries; its result is kept in the notes.

        A claim not marked done belongs to a holder that no longer has the lock (we have it): it died or
        failed, so a new claim (`name#2`, …) takes over.
        """
        claims = sorted(
            (int(key.rpartition("#")[2]), value)
            for key, value in run.notes.items()
            if key.startswith(f"{name}#") and key.rpartition("#")[2].isdigit()
        )
        if claims and claims[-1][1].get("done"):
            return
        key = f"{name}#{claims[-1][0] + 1 if claims else 1}"
        if not self._service.claim_note(run.id, key, {"token": token, "at": self._clock()}):
            return
        try:
            result = action()
        except BaseException:
            self._service.save_notes(run.id, **{key: {"token": token, "failed": True}})
            raise
        self._service.save_notes(run.id, **{key: {"done": True, "at": self._clock(), **result}})

    def _post(self, run: BatchRun, message: messages.Message) -> dict[str, Any]:
        assert run.slack_channel is not None
        channel = run.slack_channel
        try:
            response = self._call(self._client.chat_postMessage, channel=channel, **message.kwargs())
        except SlackApiError as error:
            if error_code(error) not in NO_ACCESS:
                raise
            log.info(
                "Cannot post in the channel; status goes to the requester's DM", extra={"run_id": run.id}
            )
            channel = open_dm(self._client, run.requested_by)
            response = self._call(self._client.chat_postMessage, channel=channel, **message.kwargs())
        posted_channel, ts = str(response["channel"]), str(response["ts"])
        log.info(
            "Slack status posted",
            extra={"run_id": run.id, "status": run.status.value, "channel": posted_channel, "ts": ts},
        )
        # Posted: a store blip now must not make the retried update post a second message.
        for attempt in Retrying(stop=stop_after_attempt(4), wait=wait_exponential(0.25, max=2), reraise=True):
            with attempt:
                self._service.attach_slack_message(run.id, posted_channel, ts)
        self._coordination.record_update(run.id, LastUpdate(self._clock(), _digest(message)))
        notes: dict[str, Any] = {
            "channel": posted_channel,
            "ts": ts,
            "dm": posted_channel != run.slack_channel,
        }
        try:
            permalink = self._client.chat_getPermalink(channel=posted_channel, message_ts=ts).get("permalink")
        except SlackApiError:
            permalink = None
        self._service.save_notes(run.id, permalink=permalink, requested_channel=run.slack_channel)
        return notes

    def _upload_records(self, run: BatchRun) -> dict[str, Any]:
        assert run.slack_channel is not None and run.slack_message_ts is not None
        try:
            response = self._call(
                self._client.files_upload_v2,
                channel=run.slack_channel,
                thread_ts=run.slack_message_ts,
                content=self._service.records_text(run.id),
                filename=records_filename(run),
                title=f"Run #{run.id}: the {len(run.identifiers)} identifiers, one per line",
            )
        except SlackApiError as error:
            # Not worth failing the status over (e.g. a missing files:write scope): say so in the log.
            log.error(
                "Could not upload the records file", extra={"run_id": run.id, "error": error_code(error)}
            )
            return {"error": error_code(error)}
        except OSError as error:
            # The upload URL failed (slack_sdk posts the bytes there with urllib): try again later.
            raise TransientSlackError(f"records file upload failed: {error}") from error
        file = response.get("file") or {}
        self._service.save_notes(run.id, records_permalink=file.get("permalink"))
        return {"file_id": file.get("id")}

    def _post_error(self, run: BatchRun) -> dict[str, Any]:
        assert run.slack_channel is not None and run.slack_message_ts is not None
        reply = messages.error_reply(run)
        response = self._call(
            self._client.chat_postMessage,
            channel=run.slack_channel,
            thread_ts=run.slack_message_ts,
            **reply.kwargs(),
        )
        return {"ts": str(response["ts"])}

    def _call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        """One Web API call: 429 → `RateLimited`, 5xx-like → `TransientSlackError`, others raise as is."""
        try:
            return method(**kwargs)
        except SlackApiError as error:
            seconds = retry_after(error)
            if seconds is not None:
                raise RateLimited(seconds) from error
            if error_code(error) in TRANSIENT:
                raise TransientSlackError(error_code(error)) from error
            raise
