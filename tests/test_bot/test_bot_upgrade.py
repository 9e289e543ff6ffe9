"""An upgrade (revision 0006: the status's notes become typed tables) while runs are in flight: their
status messages are still the ones updated, and nothing they already did is done again."""

from __future__ import annotations

import json
from datetime import timedelta

from kits.old_store import NOTES_REVISION, insert_noted_run, migrate_to
from kits.slack_bot import ADMIN, CHANNEL, error_replies, final_status, records_files, running_bot
from slack_sdk import WebClient

from bot.ids import COMMAND
from devtools.slack_emulator import SlackEmulator
from sync_engine import utcnow
from sync_engine.domain import RunStatus
from sync_engine.store.database import Database
from sync_engine.workday.sandbox import SandboxData


def test_runs_in_flight_keep_their_status_message_across_the_upgrade(
    empty_database_url: str, slack: SlackEmulator, sandbox_data: SandboxData, fast_job_retries: None
) -> None:
    # Before: the previous release posted each run's status message and records file, kept in notes.
    url = empty_database_url
    migrate_to(url, NOTES_REVISION)
    web = WebClient(token=slack.bot_token, base_url=slack.api_url)
    at = utcnow().timestamp()

    def posted(text: str) -> tuple[str, str]:
        ts = str(web.chat_postMessage(channel=CHANNEL, text=text)["ts"])
        web.files_upload_v2(channel=CHANNEL, thread_ts=ts, content="C\n", filename="records.txt")
        return ts, str(web.chat_getPermalink(channel=CHANNEL, message_ts=ts)["permalink"])

    def done(**result: object) -> dict[str, object]:
        return {"done": True, "at": at, **result}

    # In flight: received (its start message lost in the restart), message and records file posted.
    customers = [c.customer_id for c in sandbox_data.customers[1:4] if c.customer_id]
    in_flight_ts, in_flight_link = posted("Run #1 · Received")
    in_flight = insert_noted_run(
        url,
        status="received",
        identifiers=customers,
        at=utcnow() - timedelta(minutes=1),
        channel=CHANNEL,
        ts=in_flight_ts,
        notes={
            "status_message#1": done(channel=CHANNEL, ts=in_flight_ts, dm=False),
            "permalink": in_flight_link,
            "requested_channel": CHANNEL,
            "records_file#1": done(file_id="F_OLD"),
        },
    )
    # Ended seconds ago, everything shown: its error reply is in the thread, its final state on screen.
    ended_ts, ended_link = posted("Run #2 · Error")
    web.chat_postMessage(channel=CHANNEL, thread_ts=ended_ts, text="<@U_ADMIN> Run #2 ended in error: …")
    ended = insert_noted_run(
        url,
        status="error",
        identifiers=["C-404404"],
        at=utcnow() - timedelta(minutes=1),
        finished_at=utcnow() - timedelta(seconds=5),
        error="None of the customers could be resolved.",
        channel=CHANNEL,
        ts=ended_ts,
        notes={
            "status_message#1": done(channel=CHANNEL, ts=ended_ts, dm=False),
            "permalink": ended_link,
            "records_file#1": done(file_id="F_OLD2"),
            "error_reply#1": done(ts="1.2"),
            "final_shown": "0" * 64,
        },
    )
    old_records = len(records_files(slack))

    # The upgrade: the new release migrates at start, then resumes the run and sweeps final states.
    database = Database(url)
    database.migrate()
    with running_bot(database, slack, sandbox_data, None) as bot:
        bot.sandbox.knobs.latency = 0.1  # the final-state sweep has rounds to act while the run works
        message = final_status(bot, in_flight)

        assert bot.service.get(in_flight).status is RunStatus.COMPLETED
        assert message["ts"] == in_flight_ts  # the same message, updated
        assert [m["ts"] for m in bot.status_messages()] == [in_flight_ts, ended_ts]
        assert len(records_files(slack)) == old_records  # no records file again
        # A run whose end was shown before the upgrade gets no results file afterwards.
        assert not [f for f in slack.files if f["name"] == f"workday-resync-run-{ended}-results.csv"]
        assert len(error_replies(bot)) == 1  # the ended run's, not posted again
        assert [m["edited"] for m in bot.status_messages() if m["ts"] == ended_ts] == [0]
        ana = bot.user(ADMIN)
        ana.slash_command(COMMAND, text="history", channel=CHANNEL)
        [page] = bot.wait_for(
            lambda: [e for e in slack.ephemeral(ADMIN) if "Batch synchronizations" in e["text"]]
        )
        shown = json.dumps(page["blocks"])
        assert f"<{in_flight_link}|Status thread>" in shown and f"<{ended_link}|Status thread>" in shown
    assert ended == 2
    database.dispose()
