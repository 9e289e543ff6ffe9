"""Re-run what failed, from Slack, over HTTP: a finished run's status message offers **Re-run N**, which
opens the request form pre-filled with exactly its failed and unresolved identifiers (same type, as typed,
in order); the run it stores records "re-run of #M", says so in its status message, history and the Home
tab, and syncs just those customers. Admins only; a resubmitted form stores one run."""

from __future__ import annotations

import json
from typing import Any

from kits.slack_bot import ADMIN, CHANNEL, PLAIN, Bot, fields, final_status, request_run, synchronize
from kits.stack import expected_counts

from bot import messages
from bot.ids import COMMAND, ActionId, BlockId, CallbackId
from devtools.slack_admin import confirm, draft_id, submit_request_form
from devtools.slack_emulator import SlackUser
from devtools.slack_emulator.client import SentRequest
from sync_engine.domain import RunStatus


def text_of(blocks: Any) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def rerun_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == ActionId.RERUN
    ]


def status_of(bot: Bot, run_id: int) -> dict[str, Any]:
    """The run's status message once it shows the run's final state."""
    final_status(bot, run_id)
    footer = f"Run #{run_id} "

    def shown() -> dict[str, Any] | None:
        for message in bot.status_messages():
            status = fields(message["blocks"]).get("Status", "")
            if footer in text_of(message["blocks"]) and status.endswith(bot.service.get(run_id).status.label):
                return message
        return None

    return bot.wait_for(shown)


def request_form(user: SlackUser) -> dict[str, Any] | None:
    """The request form, once it is the modal on top (the queued form stays open until it comes)."""
    view = user.open_view(timeout=0)
    return view if view["callback_id"] == CallbackId.REQUEST_MODAL else None


def signed_again(user: SlackUser, sent: SentRequest) -> dict[str, Any]:
    """The request Slack sent, once more, signed anew (a signature no replay guard has seen)."""
    stamp = int(sent.headers["X-Slack-Request-Timestamp"]) + 1
    answer = user.resend(SentRequest(sent.body, {**sent.headers, **user.sign(sent.body, timestamp=stamp)}))
    assert answer.status == 200, answer
    return answer.json  # type: ignore[no-any-return]


def test_a_partly_unresolved_run_is_re_run_from_its_status_message(bot_both: Bot) -> None:
    bot = bot_both
    customers = bot.sandbox.data.customers[2:7]
    refs = [c.customer_id or "" for c in customers]
    failing = customers[1]
    # Workday refuses one customer's payments: it fails. Two identifiers it does not know, one of them a
    # known customer typed in lowercase (references are matched as typed).
    bot.sandbox.knobs.hidden_payments_of = {failing.wid}
    typed = [refs[0], "C-NOPE-1", refs[1], refs[2], refs[3].lower(), refs[4]]
    first = request_run(bot, typed)

    message = status_of(bot, first.id)
    first = bot.service.get(first.id)
    assert first.status is RunStatus.ERROR and first.failed == [refs[1]]
    assert first.unresolved == ["C-NOPE-1", refs[3].lower()]
    to_rerun = ["C-NOPE-1", refs[1], refs[3].lower()]  # the order they were typed in
    [button] = rerun_buttons(message)
    assert (button["text"]["text"], button["value"]) == ("Re-run 3", str(first.id))

    bot.sandbox.knobs.hidden_payments_of = set()  # Workday shows those payments now
    ana = bot.user(ADMIN)
    assert ana.click(ActionId.RERUN, message).status == 200

    form = bot.wait_for(lambda: request_form(ana))
    values = form["state"]["values"]
    assert values[BlockId.IDENTIFIERS][ActionId.IDENTIFIERS]["value"] == "\n".join(to_rerun)
    assert not values[BlockId.MORE_IDENTIFIERS][ActionId.MORE_IDENTIFIERS]["value"]
    assert values[BlockId.ID_TYPE][ActionId.ID_TYPE]["selected_option"]["value"] == "reference"
    assert "*3 customers selected*" in text_of(form["blocks"])
    assert f"*Re-run of #{first.id}*" in text_of(form["blocks"])
    assert not [b for b in form["blocks"] if b.get("block_id") == BlockId.STATUS_CHANNEL]  # goes to #finance

    # The admin edits the list (the live counter re-renders the form), then puts it back as it was.
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join([*to_rerun, "C-EXTRA"]))
    bot.wait_for(lambda: "*4 customers selected*" in text_of(ana.open_view()["blocks"]))
    ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, "\n".join(to_rerun))
    bot.wait_for(lambda: "*3 customers selected*" in text_of(ana.open_view()["blocks"]))
    first_draft = synchronize(ana)
    assert ana.click(ActionId.BACK).error is None  # back to the form: still the re-run of #M
    back = bot.wait_for(lambda: request_form(ana))
    assert f"*Re-run of #{first.id}*" in text_of(back["blocks"])
    assert bot.service.get(first_draft).rerun_of == first.id

    confirmation = submit_request_form(ana)
    assert f"Re-run of #{first.id}" in text_of(confirmation["blocks"])
    sent = ana.last_sent
    assert sent is not None
    # The same submission again (a retry, a double click that got through): the same draft, nothing stored.
    again = signed_again(ana, sent)
    assert json.loads(again["view"]["private_metadata"])["run_id"] == draft_id(confirmation)
    rerun = confirm(ana, bot.service)

    assert rerun.rerun_of == first.id and rerun.source_run_id == first.id
    assert rerun.identifiers == to_rerun
    rerun_message = status_of(bot, rerun.id)
    rerun = bot.service.get(rerun.id)
    assert rerun.status is RunStatus.COMPLETED
    assert rerun.counts == expected_counts(bot.sandbox.data, [failing.wid])  # just that one customer
    assert rerun.unresolved == ["C-NOPE-1", refs[3].lower()]
    assert [run.id for run in bot.service.history(limit=10)] == [rerun.id, first.id]  # one run stored
    assert f"Run #{rerun.id} · Re-run of #{first.id} · 3 identifiers" in text_of(rerun_message["blocks"])
    [again_button] = rerun_buttons(rerun_message)  # what is still unknown can be re-run in turn
    assert again_button["text"]["text"] == "Re-run 2"

    # History, in Slack and on the Home tab (Confirm switched it to History), says so too.
    ana.slash_command(COMMAND, text="history", channel=CHANNEL)
    entry = f"*Run #{rerun.id}* · Re-run of #{first.id} · "
    bot.wait_for(lambda: [e for e in bot.slack.ephemeral(ADMIN) if entry in text_of(e["blocks"])])
    bot.wait_for(lambda: (home := bot.slack.home(ADMIN)) is not None and entry in text_of(home["blocks"]))


def test_only_admins_may_re_run_and_a_run_with_nothing_failed_offers_none(bot: Bot) -> None:
    known = bot.sandbox.data.customers[3].customer_id or ""
    clean = request_run(bot, [known])
    partly = request_run(bot, [known, "C-NOPE-9"])

    assert rerun_buttons(status_of(bot, clean.id)) == []  # Completed, nothing failed or unknown
    message = status_of(bot, partly.id)
    [button] = rerun_buttons(message)
    assert button["text"]["text"] == "Re-run 1"
    opened_before = len(bot.slack.calls_to("views.open"))

    bob = bot.user(PLAIN)
    assert bob.click(ActionId.RERUN, message).status == 200

    refusal = messages.refusal().text
    bot.wait_for(lambda: [e for e in bot.slack.ephemeral(PLAIN) if e["text"] == refusal])
    assert len(bot.slack.calls_to("views.open")) == opened_before  # no form opened
    assert [run.id for run in bot.service.history(limit=10)] == [partly.id, clean.id]
