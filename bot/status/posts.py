"""The Web API side of the status message's once-only steps: the message itself (or, where the app
cannot post, in the requester's DM), the records file and the error reply in its thread."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from tenacity import Retrying, stop_after_attempt, wait_exponential

from bot import messages
from bot.status.slack_calls import TransientSlackError, call
from bot.thread_replies import ThreadReply
from bot.web_api import NO_ACCESS, error_code, open_dm
from sync_engine import AnnouncementService, BatchRun, RunService

__all__ = ["StatusPosts", "records_filename"]

log = logging.getLogger(__name__)


def records_filename(run: BatchRun) -> str:
    return f"workday-resync-run-{run.id}-identifiers.txt"


class StatusPosts:
    def __init__(self, service: RunService, announcements: AnnouncementService, client: WebClient) -> None:
        self._service = service
        self._announcements = announcements
        self._client = client

    def status_message(self, run: BatchRun, message: messages.Message) -> tuple[str, str]:
        """Post the run's status message and remember where it is (channel and ts on the run)."""
        assert run.slack_channel is not None
        channel = run.slack_channel
        try:
            response = call(self._client.chat_postMessage, channel=channel, **message.kwargs())
        except SlackApiError as error:
            if error_code(error) not in NO_ACCESS:
                raise
            log.info(
                "Cannot post in the channel; status goes to the requester's DM", extra={"run_id": run.id}
            )
            channel = open_dm(self._client, run.requested_by)
            response = call(self._client.chat_postMessage, channel=channel, **message.kwargs())
        posted_channel, ts = str(response["channel"]), str(response["ts"])
        log.info(
            "Slack status posted",
            extra={"run_id": run.id, "status": run.status.value, "channel": posted_channel, "ts": ts},
        )
        # Posted: a store blip now must not make the retried update post a second message.
        for attempt in Retrying(stop=stop_after_attempt(4), wait=wait_exponential(0.25, max=2), reraise=True):
            with attempt:
                self._service.attach_slack_message(run.id, posted_channel, ts)
        return posted_channel, ts

    def save_link(self, run: BatchRun, channel: str, ts: str) -> None:
        """Remember the message's permalink (history links to it); none if Slack will not tell."""
        try:
            permalink = self._client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
        except SlackApiError:
            permalink = None
        self._announcements.save_links(run.id, link=permalink)

    def records_file(self, run: BatchRun) -> None:
        """Upload the run's identifiers, one per line, in the message's thread."""
        assert run.slack_channel is not None and run.slack_message_ts is not None
        try:
            response = call(
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
            return
        except OSError as error:
            # The upload URL failed (slack_sdk posts the bytes there with urllib): try again later.
            raise TransientSlackError(f"records file upload failed: {error}") from error
        # files.completeUploadExternal answers only the file's id and title: its permalink is files.info's.
        file_id = (response.get("file") or {}).get("id")
        if file_id:
            self._announcements.save_links(run.id, records_link=self.file_permalink(run, str(file_id)))

    def file_permalink(self, run: BatchRun, file_id: str) -> str | None:
        """The permalink of a file of the run's (files.info, scope files:read); None if Slack will not tell:
        History then links the file's thread."""
        try:
            permalink = call(self._client.files_info, file=file_id)["file"].get("permalink")
        except SlackApiError as error:
            log.warning("Could not read a file's link", extra={"run_id": run.id, "error": error_code(error)})
            return None
        return str(permalink) if permalink else None

    def thread_reply(self, run: BatchRun, reply: ThreadReply) -> None:
        """A reply in the message's thread (the Completed or Error ping)."""
        assert run.slack_channel is not None and run.slack_message_ts is not None
        call(
            self._client.chat_postMessage,
            channel=run.slack_channel,
            thread_ts=run.slack_message_ts,
            **reply.message.kwargs(),
        )

    def reply_file(self, run: BatchRun, reply: ThreadReply) -> None:
        """The reply's file in the thread: what did not fit in it."""
        assert run.slack_channel is not None and run.slack_message_ts is not None
        if reply.attachment is None:
            return
        try:
            call(
                self._client.files_upload_v2,
                channel=run.slack_channel,
                thread_ts=run.slack_message_ts,
                content=reply.attachment.content,
                filename=reply.attachment.filename,
                title=reply.attachment.title,
            )
        except OSError as error:
            raise TransientSlackError(f"reply file upload failed: {error}") from error
