"""The run's live status message in Slack: posted once, updated as the run works, final state always.

`StatusUpdater.handle(run_id)` is what the status actor runs (see `bot.status.actor`), in whichever
worker process picks the message up. Each call renders the run's *current* state from the run service,
so updates coalesce: of many queued calls, any one shows everything committed before it.

- One updater per message at a time: a short per-run lock (`bot.status.throttle`), renewed every second
  while its holder works, so a killed holder's lock is gone within `lock_ttl` (5 s) and the final state
  still reaches Slack within seconds. A call that finds it taken flags a trailing update instead of
  waiting; a holder that lost it (stalled past the TTL) queues another update, which shows the newest.
- Throttled: one message is updated at most every `min_interval` seconds, and the workspace's
  chat.update calls stay within `per_minute` (Tier 3 is 50+ per minute, shared by every run). A call
  that must wait flags one trailing update, queued with that delay; more calls while it is queued add
  nothing. Final states skip the throttle but still take the lock.
- Slack's 429: no call until its Retry-After (shared by all processes), and this update is queued again
  with that delay; the worker thread is not held.
- Once-only side effects (post the message, upload the records file, post the Error or Completed reply
  that mentions the requester) are claimed first (`bot.status.once_only`), so a redelivered message
  never repeats them.
- The app cannot post in the channel (not a member, archived…): the message goes to the requester's DM.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages, thread_replies
from bot.status.lock_heartbeat import LockHeartbeat
from bot.status.once_only import Step, once
from bot.status.posts import StatusPosts
from bot.status.preview_state import preview_of
from bot.status.results_file import ResultsFile
from bot.status.slack_calls import RateLimited, call
from bot.status.throttle import LastUpdate, Throttle
from bot.stop_reply import stopped_reply
from bot.web_api import error_code
from sync_engine import AnnouncementService, BatchRun, RunNotFoundError, RunService, RunStatus

__all__ = ["Follow", "Schedule", "StatusPolicy", "StatusUpdater"]

log = logging.getLogger(__name__)


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


#: Queue `handle(run_id, final=…, trailing=True)` after a delay in seconds (the actor, later).
Schedule = Callable[[int, bool, float], None]
#: Show the runs' change elsewhere (the Home tabs that follow runs); seconds until it must be called
#: again for those it could not reach yet, or None (`bot.home_publisher.HomePublisher.follow`).
Follow = Callable[[], float | None]


def _digest(message: messages.Message) -> str:
    return hashlib.sha256(json.dumps(message.kwargs(), sort_keys=True).encode()).hexdigest()


class StatusUpdater:
    def __init__(
        self,
        service: RunService,
        client: WebClient,
        throttle: Throttle,
        schedule: Schedule,
        policy: StatusPolicy | None = None,
        *,
        follow: Follow | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._service = service
        self._announcements: AnnouncementService = service.announcements()
        self._client = client
        self._posts = StatusPosts(service, self._announcements, client)
        self._results = ResultsFile(service, self._announcements, client, self._posts)
        self._throttle = throttle
        self._schedule = schedule
        self._policy = policy or StatusPolicy()
        self._follow = follow
        self._clock = clock

    # --- entry point ------------------------------------------------------------------------------

    def handle(self, run_id: int, *, final: bool = False, trailing: bool = False) -> None:
        """Bring the run's Slack message up to date now, or make sure a later call will."""
        if trailing:
            final = self._throttle.take_trailing(run_id) or final
        token = self._throttle.acquire(run_id, self._policy.lock_ttl)
        if token is None:
            self._defer(run_id, final, self._policy.busy_retry if final else self._policy.min_interval)
            return
        heartbeat = LockHeartbeat(
            self._throttle, run_id, token, ttl=self._policy.lock_ttl, every=self._policy.lock_renew_every
        )
        shown = False
        try:
            with heartbeat:
                shown = self._update(run_id, final, token)
        except RateLimited as limited:
            self._throttle.pause(self._clock() + limited.seconds)
            log.warning(
                "Slack rate limit: status update deferred",
                extra={"run_id": run_id, "seconds": limited.seconds},
            )
            self._defer(run_id, final, limited.seconds)
        except SlackApiError as error:
            # Retrying cannot help (invalid_auth, message_not_found, a refused block): say so, once.
            log.error("Slack refused a status update", extra={"run_id": run_id, "error": error_code(error)})
        finally:
            self._throttle.release(run_id, token)
        if heartbeat.lost:
            # Our update may have landed after a newer one made while we stalled: show the newest again.
            self._defer(run_id, final, self._policy.busy_retry)
        if shown:
            self._follow_on_home(run_id, final)

    def _follow_on_home(self, run_id: int, final: bool) -> None:
        """The run as shown now, on the Home tabs that have History open; those that cannot be
        published yet get this update again once they can."""
        if self._follow is None:
            return
        try:
            later = self._follow()
        except Exception:
            # Redis or Slack trouble: the status message is up to date; the next change tries again.
            log.warning("Could not follow runs on Home tabs", extra={"run_id": run_id}, exc_info=True)
            return
        if later is not None:
            self._defer(run_id, final, later)

    def _defer(self, run_id: int, final: bool, delay: float) -> None:
        if self._throttle.request_trailing(run_id, final=final, ttl=delay + 30):
            self._schedule(run_id, final, max(delay, 0.05))

    # --- under the run's lock ---------------------------------------------------------------------

    def _update(self, run_id: int, final: bool, token: str) -> bool:
        """Bring the message up to date; False when that is left to a later update (deferred)."""
        try:
            run = self._service.get(run_id)
        except RunNotFoundError:
            return False
        if run.status in (RunStatus.DRAFT, RunStatus.CANCELLED):
            return False  # not confirmed: not in History, no status message
        if run.slack_channel is None:
            return True  # a terminal run: no status message, but History shows it
        final = final or run.is_final
        message = messages.status_message(run, preview_of(self._service, run))
        shows_final = run.is_final
        if run.slack_message_ts is None:
            once(self._announcements, run, Step.STATUS_MESSAGE, token, lambda: self._post(run, message))
            run = self._service.get(run_id)
        elif not self._edit(run, message, final):
            return False  # deferred
        if run.slack_message_ts is None:
            return True
        try:
            once(self._announcements, run, Step.RECORDS_FILE, token, lambda: self._posts.records_file(run))
        finally:
            # A records file that cannot be uploaded (retried later) must not hold the error back.
            self._ping(run, token)
        if shows_final and run.announcement.final_digest is None:
            if run.started_at is not None:  # one that never started (rejected, expired) has no results
                once(self._announcements, run, Step.RESULTS_FILE, token, lambda: self._results.upload(run))
            # Everything the final state owes the admin is done (see `bot.status.catch_up`).
            self._announcements.mark_final_shown(run.id, _digest(message))
        return True

    def _ping(self, run: BatchRun, token: str) -> None:
        """The finished run's reply mentioning its requester, Error, Completed or Stopped, once."""
        if run.status is RunStatus.ERROR:
            reply, step = thread_replies.error_reply(run), Step.ERROR_REPLY
        elif run.status is RunStatus.COMPLETED:
            reply, step = thread_replies.completed_reply(run), Step.COMPLETED_REPLY
        elif run.status is RunStatus.STOPPED:
            reply, step = stopped_reply(run), Step.STOPPED_REPLY
        else:
            return
        once(self._announcements, run, step, token, lambda: self._posts.thread_reply(run, reply))
        if reply.attachment is not None:
            once(self._announcements, run, Step.REPLY_FILE, token, lambda: self._posts.reply_file(run, reply))

    def _post(self, run: BatchRun, message: messages.Message) -> None:
        channel, ts = self._posts.status_message(run, message)
        self._throttle.record_update(run.id, LastUpdate(self._clock(), _digest(message)))
        self._posts.save_link(run, channel, ts)

    def _edit(self, run: BatchRun, message: messages.Message, final: bool) -> bool:
        """chat.update within the throttle; False when deferred."""
        assert run.slack_channel is not None and run.slack_message_ts is not None
        now = self._clock()
        digest = _digest(message)
        last = self._throttle.last_update(run.id)
        if last is not None and last.digest == digest:
            return True  # nothing new to show
        if last is None and run.announcement.final_digest == digest:
            return True  # shown before this process started
        if not final and last is not None and now - last.at < self._policy.min_interval:
            self._defer(run.id, final, last.at + self._policy.min_interval - now)
            return False
        wait = self._throttle.reserve(now, force=final)
        if wait > 0:
            self._defer(run.id, final, wait)
            return False
        call(self._client.chat_update, channel=run.slack_channel, ts=run.slack_message_ts, **message.kwargs())
        self._throttle.record_update(run.id, LastUpdate(self._clock(), digest))
        log.info("Slack status updated", extra={"run_id": run.id, "status": run.status.value})
        return True
