"""Block Kit builders against Slack's limits: slack_sdk's models plus the checks they leave out."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from kits.runs import T0, make_run
from slack_sdk.errors import SlackObjectFormationError

from bot import messages, thread_replies
from bot.block_budget import BLOCKS_BUDGET, blocks_chars
from bot.confirm_modal import confirmation_view, queued_view
from bot.home_blocks import HISTORY_PAGE, HomeState, HomeTab, error_modal, home_view, not_admin_view
from bot.ids import ActionId, BlockId, CallbackId
from bot.modal import (
    INPUT_MAX_LENGTH,
    ModalInput,
    ModalMetadata,
    counter_text,
    read_modal,
    request_modal,
    shown_counter,
    validate,
)
from bot.mrkdwn import clip, date_token, duration_text, escape, escaped_chunks, user_ref
from devtools.slack_emulator.limits import LimitError, check_message, check_view
from sync_engine.domain import (
    ApprovalDecision,
    IdentifierType,
    RunAnnouncement,
    RunApproval,
    RunStatus,
)
from sync_engine.identifiers import TOO_MANY_MESSAGE
from sync_engine.run_reason import MAX_REASON_LENGTH

SRC = IdentifierType.SOURCE_ID
REF = IdentifierType.REFERENCE


def wid(n: int) -> str:
    return f"{n:032x}"


def state(first: str = "", more: str = "", kind: IdentifierType = SRC) -> dict[str, object]:
    return {
        BlockId.ID_TYPE: {
            ActionId.ID_TYPE: {"type": "radio_buttons", "selected_option": {"value": kind.value}}
        },
        BlockId.IDENTIFIERS: {ActionId.IDENTIFIERS: {"type": "plain_text_input", "value": first or None}},
        BlockId.MORE_IDENTIFIERS: {
            ActionId.MORE_IDENTIFIERS: {"type": "plain_text_input", "value": more or None}
        },
    }


# --- the modal --------------------------------------------------------------------------------------


def test_the_modal_is_within_slacks_limits_and_carries_only_the_channel() -> None:
    view = request_modal(channel_id="C_FIN", count=42)
    check_view(view)
    assert len(view["title"]["text"]) <= 24 and view["title"]["text"] == "Workday batch sync"
    assert view["submit"]["text"] == "Synchronize"
    assert view["callback_id"] == CallbackId.REQUEST_MODAL
    assert json.loads(view["private_metadata"]) == {"channel_id": "C_FIN"}
    inputs = [block["element"] for block in view["blocks"] if block["type"] == "input"]
    *texts, reason = [element for element in inputs if element["type"] == "plain_text_input"]
    assert (
        [element["max_length"] for element in texts] == [INPUT_MAX_LENGTH, INPUT_MAX_LENGTH] == [3000, 3000]
    )
    assert (reason["action_id"], reason["max_length"]) == (ActionId.REASON, MAX_REASON_LENGTH)
    assert all(e["dispatch_action_config"]["trigger_actions_on"] == ["on_character_entered"] for e in texts)
    radio = next(element for element in inputs if element["type"] == "radio_buttons")
    assert [option["text"]["text"] for option in radio["options"]] == [
        "Source ID (workdayID)",
        "Reference (customer number)",
    ]
    assert shown_counter(view) == "*42 customers selected*"


def test_updates_keep_every_input_id_so_typed_text_survives() -> None:
    def ids(view: dict[str, object]) -> list[tuple[object, object]]:
        return [
            (block.get("block_id"), (block.get("element") or {}).get("action_id"))
            for block in view["blocks"]  # type: ignore[attr-defined]
        ]

    assert ids(request_modal(channel_id="C1")) == ids(
        request_modal(channel_id="C1", count=99, identifier_type=REF)
    )


def test_counter_text() -> None:
    assert counter_text(0) == "*0 customers selected*"
    assert counter_text(1) == "*1 customer selected*"
    assert counter_text(100) == "*100 customers selected*"
    assert counter_text(101) == "*101 customers selected*  :warning: maximum 100"


def test_limit_checks_catch_what_slack_sdk_does_not() -> None:
    view = request_modal(channel_id="C1")
    view["blocks"][2]["element"]["max_length"] = 3001
    with pytest.raises(LimitError, match="max_length"):
        check_view(view)
    with pytest.raises(LimitError, match="no more than 50 items"):
        check_message("x", [{"type": "divider"}] * 51)
    with pytest.raises((LimitError, SlackObjectFormationError), match="3000"):
        check_message("x", [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    with pytest.raises(LimitError, match="fallback text"):
        check_message("x" * 4001, [])
    with pytest.raises(LimitError, match="fallback text"):
        check_message("", [{"type": "divider"}])
    button = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "go"}
    with pytest.raises(LimitError, match="duplicate action_id: go"):
        check_message("x", [{"type": "actions", "elements": [button, button]}])


def test_a_hundred_wids_fit_in_the_two_inputs_and_all_count() -> None:
    wids = [wid(n) for n in range(100)]
    first, more = "\n".join(wids[:90]), "\n".join(wids[90:])
    assert len("\n".join(wids)) > 3000 >= max(len(first), len(more))
    modal = read_modal(state(first, more))
    assert modal.count() == 100
    identifiers, errors = validate(modal)
    assert errors == {} and identifiers == wids


def test_blanks_and_duplicates_are_dropped_across_both_inputs() -> None:
    modal = read_modal(state(f"\n{wid(1)}\n\n{wid(2).upper()}\n", f"{wid(2)}\n{wid(1)}\n{wid(3)}"))
    assert modal.count() == 3
    assert validate(modal) == ([wid(1), wid(2), wid(3)], {})


def test_validation_messages_under_the_right_input() -> None:
    too_many = read_modal(
        state("\n".join(f"C-{n}" for n in range(80)), "\n".join(f"D-{n}" for n in range(21)), REF)
    )
    assert validate(too_many) == ([], {BlockId.IDENTIFIERS: TOO_MANY_MESSAGE})
    assert TOO_MANY_MESSAGE == "Too many identifiers. Maximum 100."

    none = validate(read_modal(state(" \n \n", "")))
    assert none == ([], {BlockId.IDENTIFIERS: "Enter at least one identifier, one per line."})

    malformed = validate(read_modal(state(wid(1), f"{wid(2)}\nC-000123\n\nnot-a-wid")))
    assert list(malformed[1]) == [BlockId.MORE_IDENTIFIERS]
    message = malformed[1][BlockId.MORE_IDENTIFIERS]
    assert "line 2 (C-000123)" in message and "line 4 (not-a-wid)" in message
    assert "choose Reference instead" in message

    assert validate(read_modal(state("C-000123", "", REF))) == (["C-000123"], {})


def test_unreadable_state_reads_as_empty_source_ids() -> None:
    assert read_modal({}) == ModalInput(SRC, "", "")
    assert ModalMetadata.loads("garbage").channel_id == ""


# --- mrkdwn -----------------------------------------------------------------------------------------


def test_escaping_defuses_mentions_and_links() -> None:
    assert escape("<!channel> & <https://x|y>") == "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"
    assert user_ref("U123ABC") == "<@U123ABC>"
    assert user_ref("cli:<!here>") == "cli:&lt;!here&gt;"


def test_dates_render_in_each_readers_time_zone() -> None:
    stamp = int(T0.timestamp())
    assert date_token(T0) == f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|2026-11-27 09:30 UTC>"


def test_durations() -> None:
    assert [duration_text(s) for s in (0.4, 42, 65, 3725)] == ["0 s", "42 s", "1 min 5 s", "1 h 2 min"]


def test_chunks_never_split_an_escape_and_lose_nothing() -> None:
    text = "a&b <c> " * 1000
    pieces = escaped_chunks(text, 100)
    assert all(len(piece) <= 100 for piece in pieces)
    assert "".join(pieces) == escape(text)
    assert all(re.fullmatch(r"([^&]|&amp;|&lt;|&gt;)*", piece) for piece in pieces)
    assert [len(piece) for piece in escaped_chunks("x" * 250, 100)] == [100, 100, 50]
    assert clip("<" * 10, 12) == "&lt;&lt;…"


# --- messages ---------------------------------------------------------------------------------------


def test_the_confirmation_step_is_exact_and_within_limits() -> None:
    run = make_run(status=RunStatus.DRAFT, identifiers=[f"C-<{n}>" for n in range(100)], identifier_type=REF)
    view = confirmation_view(run, channel_id="C_FIN", connection=":large_green_circle: *Connected*")
    check_view(view)
    assert (view["callback_id"], view["submit"]["text"], view["close"]["text"]) == (
        CallbackId.CONFIRM_MODAL,
        "Confirm",
        "Cancel",
    )
    assert view["blocks"][0]["text"]["text"] == (
        ":warning: *This re-imports and overwrites 100 customers and all their invoices, payments and "
        "credit notes. This cannot be undone.*"
    )
    shown = json.dumps(view["blocks"])
    assert "`C-&lt;9&gt;`" in shown and "C-&lt;10&gt;" not in shown and "and 90 more" in shown
    [back, preview] = view["blocks"][2]["elements"]
    assert (back["text"]["text"], back["action_id"]) == ("Back", ActionId.BACK)
    assert preview["text"]["text"] == "Preview changes first"
    assert preview["action_id"] == ActionId.PREVIEW_FIRST
    assert json.loads(view["private_metadata"])["run_id"] == run.id

    for permalink in (None, "https://x.slack.com/archives/C_FIN/p1"):
        queued = queued_view(
            make_run(status=RunStatus.RECEIVED), home_url="slack://app?x", permalink=permalink
        )
        check_view(queued)
        assert queued.get("submit") is None and "Run #7 is queued" in json.dumps(queued["blocks"])
        urls = [button["url"] for button in queued["blocks"][1]["elements"]]
        assert urls == ["slack://app?x", *([permalink] if permalink else [])]


@pytest.mark.parametrize("status", list(RunStatus))
def test_status_message_for_every_status_is_within_limits(status: RunStatus) -> None:
    run = make_run(status=status, finished_at=T0 + timedelta(seconds=65), error="Boom <!channel>")
    message = messages.status_message(run)
    check_message(message.text, message.blocks)
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Batch synchronization | Workday"},
    }


def test_status_message_content_in_progress() -> None:
    fields = [f["text"] for f in messages.status_message(make_run()).blocks[1]["fields"]]
    assert fields == [
        "*Requested by*\n<@U_ADMIN>",
        f"*Requested*\n<!date^{int(T0.timestamp())}^{{date_short_pretty}} at {{time}}|2026-11-27 09:30 UTC>",
        "*Identifier type*\nSource ID (workdayID)",
        "*Status*\n:hourglass_flowing_sand: In progress",
        "*Customers*\n3 of 10",
        "*Invoices*\n40",
        "*Payments*\n12",
        "*Credit notes*\n2",
    ]


def test_completed_shows_duration_and_every_unresolved_identifier_escaped() -> None:
    run = make_run(
        status=RunStatus.COMPLETED,
        finished_at=T0 + timedelta(seconds=67),
        unresolved=["C-404", "<!channel>"],
    )
    texts = json.dumps(messages.status_message(run).blocks)
    assert "Completed in 1 min 5 s" in texts
    assert "*Not found on Workday (2):* `C-404`, `&lt;!channel&gt;`" in texts
    assert "<!channel>" not in texts


def test_the_status_message_says_until_when_what_the_run_overwrote_is_kept() -> None:
    until = T0 + timedelta(days=30)
    message = messages.status_message(make_run(previous_kept_until=until))
    check_message(message.text, message.blocks)
    kept = f"<!date^{int(until.timestamp())}^{{date_short_pretty}} at {{time}}|2026-12-27 09:30 UTC>"
    assert {"type": "mrkdwn", "text": f":file_cabinet: What this run overwrote is kept until {kept}"} in [
        element for block in message.blocks if block["type"] == "context" for element in block["elements"]
    ]
    # A run that kept nothing (RESYNC_KEEP_PREVIOUS_DAYS=0, or nothing written yet) says nothing of it.
    assert "kept until" not in json.dumps(messages.status_message(make_run()).blocks)


def test_huge_outcomes_stay_within_limits_and_the_thread_gets_the_whole_error() -> None:
    error = "; ".join(f"{wid(n)}: Workday said <no> & failed " + "x" * 300 for n in range(100))
    run = make_run(status=RunStatus.ERROR, unresolved=[wid(n) for n in range(100)], error=error)
    status = messages.status_message(run)
    check_message(status.text, status.blocks)
    assert "full message in the thread" in json.dumps(status.blocks)
    listed = [b["text"]["text"] for b in status.blocks if b["type"] == "section" and "text" in b][:-1]
    assert listed[0].startswith(":warning: *Not found on Workday (100):* ")
    assert "".join(listed).removeprefix(":warning: *Not found on Workday (100):* ") == ", ".join(
        f"`{identifier}`" for identifier in run.unresolved
    )

    # The whole error would be refused in one message: the reply says so and carries it as a file.
    reply = thread_replies.error_reply(run)
    check_message(reply.message.text, reply.message.blocks)
    assert reply.message.blocks[0]["text"]["text"] == "<@U_ADMIN> run #7 ended in error:"
    assert "workday-resync-run-7-error.txt" in json.dumps(reply.message.blocks)
    assert reply.attachment is not None and reply.attachment.filename == "workday-resync-run-7-error.txt"
    assert reply.attachment.content.startswith(error + "\n")
    assert all(identifier in reply.attachment.content for identifier in run.unresolved)


def test_history_pages_stay_within_fifty_blocks() -> None:
    long_error = "Everything failed <badly> " * 200
    runs = [
        make_run(
            id=n, status=RunStatus.ERROR, error=long_error, announcement=RunAnnouncement(link="https://x/p")
        )
        for n in range(messages.HISTORY_PAGE_SIZE)
    ]
    page = messages.history_page(runs, offset=10, has_more=True)
    check_message(page.text, page.blocks)
    assert page.blocks[0]["text"]["text"].startswith("*Batch synchronizations* · runs 11–20")
    more = page.blocks[-1]["elements"][0]
    assert (more["text"]["text"], more["action_id"], more["value"]) == (
        "Show more",
        ActionId.HISTORY_MORE,
        "20",
    )
    assert sum(1 for b in page.blocks if b["type"] == "actions") == 11  # a "Full error" per run + Show more
    assert "<https://x/p|Status thread>" in json.dumps(page.blocks)

    full = messages.full_error(runs[0])
    check_message(full.text, full.blocks)


def test_a_history_page_of_long_errors_and_reasons_shows_what_fits_and_the_rest_after_show_more() -> None:
    approved = RunApproval(
        above=10,
        held_at=T0,
        expires_at=T0 + timedelta(days=1),
        decision=ApprovalDecision.APPROVED,
        decided_by="U_OWNER",
        decided_at=T0 + timedelta(minutes=5),
    )
    runs = [
        make_run(
            id=30 - n,
            status=RunStatus.ERROR,
            error="Customer <x> failed: " + "boom & bust " * 50,
            reason="Ticket FIN-1234 & <b>: " + "corrected invoices " * 25,
            approval=approved,
            announcement=RunAnnouncement(link="https://x/p", records_link="https://x/f"),
        )
        for n in range(messages.HISTORY_PAGE_SIZE)
    ]

    page = messages.history_page(runs, offset=10, has_more=False)

    check_message(page.text, page.blocks)
    assert blocks_chars(page.blocks) <= BLOCKS_BUDGET
    shown = len(re.findall(r"\*Run #\d+\*", json.dumps(page.blocks)))
    assert 0 < shown < messages.HISTORY_PAGE_SIZE
    assert page.blocks[0]["text"]["text"].endswith(f"runs 11–{10 + shown}, most recent first")
    more = page.blocks[-1]["elements"][0]
    assert (more["action_id"], more["value"]) == (ActionId.HISTORY_MORE, str(10 + shown))


def test_short_notes_are_within_limits() -> None:
    for message in (
        messages.refusal(),
        messages.usage(),
        messages.not_configured("Workday is not configured: set WORKDAY_BASE_URL."),
        messages.unavailable_run(),
        messages.history_page([], offset=0, has_more=False),
    ):
        check_message(message.text, message.blocks)


def test_a_full_history_page_of_the_home_tab_is_within_slacks_limits() -> None:
    long_error = "Customer <x> failed: " + "boom & bust " * 400
    runs = [
        make_run(
            id=n,
            status=RunStatus.ERROR,
            error=long_error,
            requested_by="U_ADMIN",
            announcement=RunAnnouncement(link="https://x/p1", records_link="https://x/f1"),
        )
        for n in range(HISTORY_PAGE, 0, -1)
    ]
    view = home_view(HomeState(HomeTab.HISTORY, 15), connection="ok", runs=runs, has_more=True)
    check_view(view)  # within the blocks' total size too: fewer runs on the page, "Older" goes on from there
    assert len(view["blocks"]) <= 100 and blocks_chars(view["blocks"]) <= BLOCKS_BUDGET
    shown = len(re.findall(r"\*Run #\d+\*", json.dumps(view["blocks"])))
    assert 0 < shown < HISTORY_PAGE
    [paging] = [b for b in view["blocks"] if b.get("block_id") == BlockId.HOME_PAGING]
    assert {e["action_id"]: e["value"] for e in paging["elements"]} == {
        ActionId.HOME_NEWER: "0",
        ActionId.HOME_OLDER: str(15 + shown),
    }
    assert {
        b["elements"][0]["action_id"]
        for b in view["blocks"]
        if b.get("block_id", "").startswith("home_error")
    } == {ActionId.HOME_FULL_ERROR}
    modal = error_modal(runs[0])
    check_view(modal)
    assert sum(len(b["text"]["text"]) for b in modal["blocks"]) < 12_000
    assert check_view(not_admin_view()) is None
