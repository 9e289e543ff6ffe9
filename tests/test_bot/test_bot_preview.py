"""Preview in Slack, over HTTP with the emulator, the Workday sandbox and a real worker: *Preview changes
first* in the confirmation queues a preview; its status message shows exactly what changed on Workday
(new, changed with the amount delta, removed, per type), ending *Preview ready* with Apply and Discard;
Apply writes the staged snapshots with no Workday request (once, however often it is clicked) and lists
the customers another run wrote since; Discard drops the staged data; an expired preview and a user who
is not an admin change nothing; history names each run's kind."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from kits.hostile import post_signed
from kits.runs import make_run
from kits.slack_bot import ADMIN, CHANNEL, OWNER, PLAIN, Bot, request_run, running_bot, synchronize
from kits.stack import stored_customer, without_fetched_at

from bot import messages
from bot.block_budget import BLOCKS_BUDGET, blocks_chars
from bot.home_blocks import HomeState, HomeTab, home_view
from bot.ids import COMMAND, ActionId, BlockId
from devtools.slack_emulator import SlackEmulator
from devtools.slack_emulator.limits import check_message
from sync_engine.clock import utcnow
from sync_engine.domain import IdentifierType, RunCounts, RunKind, RunStatus
from sync_engine.preview_decisions import PreviewView
from sync_engine.preview_diff import KINDS as DOCUMENT_KINDS
from sync_engine.preview_diff import CustomerDiff, KindDiff
from sync_engine.preview_plan import PreviewReport
from sync_engine.retention import drop_expired_previews
from sync_engine.store.database import Database
from sync_engine.store.models import StagedSnapshotRow
from sync_engine.workday.sandbox import SandboxData

WARNING = (
    "This re-imports and overwrites {n} customers and all their invoices, payments and credit notes. "
    "This cannot be undone."
)
UNKNOWN = "f" * 32


@pytest.fixture
def bot(
    database: Database, slack: SlackEmulator, request: pytest.FixtureRequest, fast_job_retries: None
) -> Iterator[Bot]:
    """The app with a sandbox of its own (these tests change Workday's data), on both stacks: SQLite with
    the in-process worker, PostgreSQL with Redis."""
    data = SandboxData.generate(customers=10, seed=11, big_customer_documents=30)
    redis_url = request.getfixturevalue("redis_url") if database.dialect == "postgresql" else None
    with running_bot(database, slack, data, redis_url) as running:
        yield running


def text_of(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def label(bot: Bot, wid: str) -> str:
    customer = bot.sandbox.data.snapshot(wid).customer
    return customer.customer_id or customer.customer_reference_id or wid


def imported_then_changed(bot: Bot) -> list[str]:
    """Three customers imported through Slack, then on Workday: the first gains two invoices, one
    invoice +25.50, one payment -100.00 and loses another payment; a fourth customer is new."""
    data = bot.sandbox.data
    wids = [wid for wid in data.customer_wids[1:] if len(data.snapshot(wid).payments) > 1][:4]
    assert len(wids) == 4
    imported = request_run(bot, wids[:3], kind="source_id")
    assert bot.wait_run(imported.id).status is RunStatus.COMPLETED
    first = data.snapshot(wids[0])
    data.add_invoice(wids[0], total_amount=Decimal("10.00"))
    data.add_invoice(wids[0], total_amount=Decimal("20.00"))
    data.update_document(
        first.invoices[0].wid, total_amount=first.invoices[0].total_amount + Decimal("25.50")
    )
    data.update_document(first.payments[0].wid, amount=first.payments[0].amount - Decimal("100.00"))
    data.delete_document(first.payments[1].wid)
    return wids


def preview_from_the_form(bot: Bot, identifiers: list[str], *, clicks: int = 1) -> int:
    """The form filled, Synchronize, then *Preview changes first* (`clicks` times); the preview's id."""
    ana = bot.user(ADMIN)
    bot.open_request(ana)
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, "source_id")
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(identifiers))
    draft_id = synchronize(ana)
    for _ in range(clicks):
        assert ana.click(ActionId.PREVIEW_FIRST).error is None
    bot.wait_for(lambda: f"Preview #{draft_id} is queued" in text_of(ana.open_view()["blocks"]))
    return draft_id


def preview_message(bot: Bot, run_id: int, *, containing: str = "Preview ready") -> dict[str, Any]:
    def shown() -> dict[str, Any] | None:
        for message in bot.status_messages():
            text = text_of(message["blocks"])
            if f"Run #{run_id} ·" in text and containing in text:
                return message
        return None

    return bot.wait_for(shown, timeout=120)


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        element["action_id"]: element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


def ready_preview(bot: Bot) -> tuple[list[str], int]:
    wids = imported_then_changed(bot)
    run_id = preview_from_the_form(bot, [*wids, UNKNOWN])
    preview_message(bot, run_id)
    return wids, run_id


def contents(bot: Bot, wids: list[str]) -> dict[str, Any]:
    """What the store holds for each customer (None: not stored)."""
    stored = {wid: stored_customer(bot.rt.database, wid) for wid in wids}
    return {wid: without_fetched_at(snapshot) if snapshot else None for wid, snapshot in stored.items()}


def runs_of_kind(bot: Bot, kind: RunKind) -> list[Any]:
    return [run for run in bot.service.history(limit=50) if run.kind is kind]


def ephemeral_text(bot: Bot, user: str) -> str:
    return text_of([block for message in bot.slack.ephemeral(user) for block in message["blocks"]])


def test_preview_changes_first_shows_exactly_what_changed_on_workday(bot: Bot) -> None:
    wids = imported_then_changed(bot)
    data = bot.sandbox.data
    fourth = data.snapshot(wids[3])

    run_id = preview_from_the_form(bot, [*wids, UNKNOWN], clicks=2)

    run = bot.wait_run(run_id)
    assert (run.kind, run.status) == (RunKind.PREVIEW, RunStatus.COMPLETED)
    assert len(runs_of_kind(bot, RunKind.PREVIEW)) == 1  # two clicks, one preview
    assert stored_customer(bot.rt.database, wids[3]) is None  # nothing written
    shown = text_of(preview_message(bot, run_id)["blocks"])
    first_line = (
        # Its balance moved with its invoices: the customer's details changed too.
        f"• *{label(bot, wids[0])}* (details changed): Invoices 2 new · 1 changed (+25.50) · 0 removed; "
        "Payments 0 new · 1 changed (-100.00) · 1 removed; Credit notes 0 new · 0 changed · 0 removed"
    )
    fourth_line = (
        f"• *{label(bot, wids[3])}* (new customer): "
        f"Invoices {len(fourth.invoices)} new · 0 changed · 0 removed; "
        f"Payments {len(fourth.payments)} new · 0 changed · 0 removed; "
        f"Credit notes {len(fourth.credit_notes)} new · 0 changed · 0 removed"
    )
    assert first_line in shown and fourth_line in shown
    assert f"No change (2): {label(bot, wids[1])}, {label(bot, wids[2])}" in shown
    total = (
        f"*Total:* Invoices {2 + len(fourth.invoices)} new · 1 changed (+25.50) · 0 removed; "
        f"Payments {len(fourth.payments)} new · 1 changed (-100.00) · 1 removed; "
        f"Credit notes {len(fourth.credit_notes)} new · 0 changed · 0 removed"
    )
    assert total in shown
    # The most changes first.
    first_changes, fourth_changes = 6, len(fourth.invoices) + len(fourth.payments) + len(fourth.credit_notes)
    before, after = (
        (first_line, fourth_line) if first_changes >= fourth_changes else (fourth_line, first_line)
    )
    assert shown.index(before) < shown.index(after)
    assert "Not found on Workday (1)" in shown and UNKNOWN in shown
    found = buttons(preview_message(bot, run_id))
    apply, discard = found[ActionId.APPLY_PREVIEW], found[ActionId.DISCARD_PREVIEW]
    assert apply["style"] == "danger" and apply["text"]["text"] == "Apply this preview"
    assert apply["confirm"]["text"]["text"] == WARNING.format(n=4)
    assert discard["text"]["text"] == "Discard"


def test_apply_writes_the_staged_snapshots_once_with_no_workday_request(bot: Bot) -> None:
    wids, run_id = ready_preview(bot)
    seen = {wid: without_fetched_at(bot.sandbox.data.snapshot(wid)) for wid in wids}
    bot.sandbox.data.add_invoice(wids[1], total_amount=Decimal("1.00"))  # after the preview: not applied
    requests = bot.sandbox.stats.total()
    message = preview_message(bot, run_id)
    ana, olga = bot.user(ADMIN), bot.user("U_OWNER")

    clicks = [
        threading.Thread(target=user.click, args=(ActionId.APPLY_PREVIEW, message)) for user in (ana, olga)
    ]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()

    [applied] = bot.wait_for(lambda: runs_of_kind(bot, RunKind.APPLY))
    done = bot.wait_run(applied.id)
    assert done.status is RunStatus.COMPLETED, done.error
    assert done.source_run_id == run_id and done.slack_channel == CHANNEL
    assert bot.sandbox.stats.total() == requests  # no Workday request
    assert contents(bot, wids) == seen
    decided = text_of(preview_message(bot, run_id, containing="*Applied* by")["blocks"])
    assert f"run #{applied.id} writes this preview" in decided and ActionId.APPLY_PREVIEW not in decided
    # The other click was told, and the apply run has its own status message.
    bot.wait_for(lambda: "was already applied" in ephemeral_text(bot, ADMIN) + ephemeral_text(bot, OWNER))
    preview_message(bot, applied.id, containing=f"Applies preview #{run_id}")
    assert len(runs_of_kind(bot, RunKind.APPLY)) == 1


def test_apply_leaves_out_and_lists_a_customer_another_run_wrote_since(bot: Bot) -> None:
    wids, run_id = ready_preview(bot)
    later = bot.service.submit(IdentifierType.SOURCE_ID, [wids[0]], "cli:ana")
    assert bot.wait_run(later.id).status is RunStatus.COMPLETED
    written = without_fetched_at(stored_customer(bot.rt.database, wids[0]))

    bot.user(ADMIN).click(ActionId.APPLY_PREVIEW, preview_message(bot, run_id))

    [applied] = bot.wait_for(lambda: runs_of_kind(bot, RunKind.APPLY))
    assert bot.wait_run(applied.id).status is RunStatus.COMPLETED
    assert sorted(applied.identifiers) == sorted(wids[1:])
    shown = text_of(preview_message(bot, run_id, containing="Left out")["blocks"])
    assert f"written by another run since the preview (1):* {label(bot, wids[0])}" in shown
    assert without_fetched_at(stored_customer(bot.rt.database, wids[0])) == written


def test_discard_drops_the_staged_data_once_and_says_by_whom(bot: Bot) -> None:
    wids, run_id = ready_preview(bot)
    before = contents(bot, wids)
    message = preview_message(bot, run_id)
    users = (bot.user(ADMIN), bot.user(OWNER))

    clicks = [threading.Thread(target=user.click, args=(ActionId.DISCARD_PREVIEW, message)) for user in users]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()

    shown = text_of(preview_message(bot, run_id, containing="*Discarded* by")["blocks"])
    decision = bot.service.previews().decision(run_id)
    assert decision is not None and f"<@{decision.decided_by}>" in shown
    assert ActionId.APPLY_PREVIEW not in shown and "C-0" in shown  # the diff stays as it was shown
    other = OWNER if decision.decided_by == ADMIN else ADMIN
    bot.wait_for(lambda: "was already discarded" in ephemeral_text(bot, other))
    assert bot.service.previews().view(run_id).report.customers == []
    # Apply, however it comes, finds it discarded: nothing written.
    assert not bot.service.previews().apply(run_id, ADMIN, slack_channel=CHANNEL).decided_now
    assert runs_of_kind(bot, RunKind.APPLY) == []
    assert contents(bot, wids) == before


def test_an_expired_preview_answers_when_it_expired_and_changes_nothing(bot: Bot) -> None:
    wids, run_id = ready_preview(bot)
    message = preview_message(bot, run_id)
    with bot.rt.database.session() as session:
        session.execute(
            StagedSnapshotRow.__table__.update()
            .where(StagedSnapshotRow.run_id == run_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    ana = bot.user(ADMIN)

    ana.click(ActionId.APPLY_PREVIEW, message)
    bot.wait_for(lambda: f"Preview #{run_id} expired at <!date^" in ephemeral_text(bot, ADMIN))
    assert drop_expired_previews(bot.rt.database) == len(wids)
    ana.click(ActionId.DISCARD_PREVIEW, message)  # its staged data gone: the time comes from the button
    bot.wait_for(lambda: ephemeral_text(bot, ADMIN).count(f"Preview #{run_id} expired at <!date^") == 2)

    assert runs_of_kind(bot, RunKind.APPLY) == []
    assert bot.service.previews().decision(run_id) is None


def test_a_user_who_is_not_an_admin_is_refused_and_nothing_changes(bot: Bot) -> None:
    _, run_id = ready_preview(bot)
    message = preview_message(bot, run_id)
    bob = bot.user(PLAIN)

    bob.click(ActionId.APPLY_PREVIEW, message)
    bob.click(ActionId.DISCARD_PREVIEW, message)

    refusal = messages.refusal().text
    bot.wait_for(lambda: [e["text"] for e in bot.slack.ephemeral(PLAIN)] == [refusal, refusal])
    assert runs_of_kind(bot, RunKind.APPLY) == []
    assert bot.service.previews().decision(run_id) is None
    assert ActionId.APPLY_PREVIEW in text_of(preview_message(bot, run_id)["blocks"])


def test_history_names_previews_and_applies(bot: Bot) -> None:
    _, run_id = ready_preview(bot)
    bot.user(ADMIN).click(ActionId.APPLY_PREVIEW, preview_message(bot, run_id))
    [applied] = bot.wait_for(lambda: runs_of_kind(bot, RunKind.APPLY))
    bot.wait_run(applied.id)

    bot.user(ADMIN).slash_command(COMMAND, "history", channel=CHANNEL)

    page = bot.wait_for(lambda: "Batch synchronizations" in (shown := ephemeral_text(bot, ADMIN)) and shown)

    assert f"*Run #{run_id}* · Preview ·" in page
    assert f"*Run #{applied.id}* · Apply of #{run_id} ·" in page


# --- the builders alone: Slack's limits, and kinds on the Home tab --------------------------------------


def finished_preview(customers: int, label_length: int) -> PreviewView:
    diffs = [
        CustomerDiff(
            f"{n:032x}",
            f"{n:04}-<&>".ljust(label_length, "x"),
            new_customer=False,
            customer_changed=True,
            kinds={name: KindDiff(n, 2, 1, Decimal("-1234567.89")) for name in DOCUMENT_KINDS},
        )
        for n in range(customers, 0, -1)
    ]
    run = make_run(
        id=9,
        status=RunStatus.COMPLETED,
        identifiers=[diff.customer_wid for diff in diffs],
        requested_by=ADMIN,
        created_at=utcnow(),
        started_at=utcnow(),
        finished_at=utcnow(),
        counts=RunCounts(customers, 0, 0, 0),
        resolved=customers,
        slack_channel=CHANNEL,
        kind=RunKind.PREVIEW,
    )
    report = PreviewReport(run, diffs, {name: KindDiff() for name in DOCUMENT_KINDS}, utcnow())
    return PreviewView(report)


@pytest.mark.parametrize(("customers", "label_length"), [(3, 10), (100, 10), (100, 200)])
def test_the_preview_message_stays_within_slacks_limits(customers: int, label_length: int) -> None:
    preview = finished_preview(customers, label_length)

    message = messages.status_message(preview.report.run, preview)

    check_message(message.text, message.blocks)
    assert len(message.blocks) <= 50 and blocks_chars(message.blocks) <= BLOCKS_BUDGET
    shown = text_of(message.blocks)
    assert "&lt;&amp;&gt;" in shown and "<&>" not in shown  # what Workday wrote, escaped
    listed = shown.count("• *")
    assert ActionId.APPLY_PREVIEW in shown and ActionId.DISCARD_PREVIEW in shown  # never cut
    if listed < customers:
        assert f"and {customers - listed} more customers" in shown
    else:
        assert "more customer" not in shown


def test_the_home_tab_names_each_runs_kind() -> None:
    run = finished_preview(1, 10).report.run
    runs = [
        replace(run, id=4, kind=RunKind.RESTORE, source_run_id=2),
        replace(run, id=3, kind=RunKind.APPLY, source_run_id=1),
        replace(run, id=2, kind=RunKind.SYNC),
        replace(run, id=1),
    ]

    shown = text_of(home_view(HomeState(HomeTab.HISTORY), connection="", runs=runs)["blocks"])

    assert "*Run #4* · Restore of #2 ·" in shown and "*Run #3* · Apply of #1 ·" in shown
    assert "*Run #2* · <!date^" in shown and "*Run #1* · Preview ·" in shown


def test_an_apply_naming_what_is_not_a_preview_changes_nothing(bot: Bot) -> None:
    _, run_id = ready_preview(bot)
    [imported] = runs_of_kind(bot, RunKind.SYNC)
    ws = bot.slack._ws

    def click(value: str) -> int:
        payload = {
            "type": "block_actions",
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "api_app_id": ws.app_id,
            "user": {"id": ADMIN, "username": "ana", "team_id": ws.team_id},
            "container": {"type": "message", "channel_id": CHANNEL, "message_ts": "1.000001"},
            "channel": {"id": CHANNEL, "name": "finance"},
            "actions": [
                {"action_id": ActionId.APPLY_PREVIEW, "block_id": "x", "type": "button", "value": value}
            ],
        }
        status, _ = post_signed(bot.user(ADMIN), payload)
        return status

    statuses = [
        click(json.dumps({"run": imported.id, "expires": None})),  # a sync run
        click(json.dumps({"run": 999_999, "expires": None})),  # no such run
        click("not json"),
        click(json.dumps({"run": True, "expires": "x"})),
    ]

    assert statuses == [200, 200, 200, 200]
    bot.wait_for(lambda: f"Run {imported.id} is a sync run, not a preview." in ephemeral_text(bot, ADMIN))
    bot.wait_for(lambda: "This request no longer exists" in ephemeral_text(bot, ADMIN))
    assert runs_of_kind(bot, RunKind.APPLY) == []
    assert bot.service.previews().decision(run_id) is None
