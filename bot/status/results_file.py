"""The run's per-customer results (`results_csv`) as a CSV file in its status message's thread, uploaded
once the run has ended, with its link kept for History.

A once-only step of the status message (`bot.status.once_only`), so several workers and Slack or Dramatiq
redeliveries upload it once. The file starts with a UTF-8 byte order mark: without it, Excel reads a CSV
as the machine's legacy code page and shows "Société" as "SociÃ©tÃ©".
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.status.posts import StatusPosts
from bot.status.slack_calls import TransientSlackError, call
from bot.web_api import error_code
from sync_engine import AnnouncementService, BatchRun, RunService, results_csv

__all__ = ["ResultsFile", "results_filename"]

log = logging.getLogger(__name__)


def results_filename(run: BatchRun) -> str:
    return f"workday-resync-run-{run.id}-results.csv"


class ResultsFile:
    def __init__(
        self, service: RunService, announcements: AnnouncementService, client: WebClient, posts: StatusPosts
    ) -> None:
        self._service = service
        self._announcements = announcements
        self._client = client
        self._posts = posts

    def upload(self, run: BatchRun) -> None:
        """Upload the finished run's results in the message's thread and keep the file's link."""
        assert run.slack_channel is not None and run.slack_message_ts is not None
        results = self._service.results(run.id)
        try:
            response = call(
                self._client.files_upload_v2,
                channel=run.slack_channel,
                thread_ts=run.slack_message_ts,
                content=results_csv(results).encode("utf-8-sig"),
                filename=results_filename(run),
                title=f"Run #{run.id}: results per customer ({len(results)})",
            )
        except SlackApiError as error:
            # Not worth failing the status over (e.g. a missing files:write scope): say so in the log.
            log.error(
                "Could not upload the results file", extra={"run_id": run.id, "error": error_code(error)}
            )
            return
        except OSError as error:
            # The upload URL failed (slack_sdk posts the bytes there with urllib): try again later.
            raise TransientSlackError(f"results file upload failed: {error}") from error
        file_id = (response.get("file") or {}).get("id")
        if file_id:
            link = self._posts.file_permalink(run, str(file_id))
            self._announcements.save_links(run.id, results_link=link)
