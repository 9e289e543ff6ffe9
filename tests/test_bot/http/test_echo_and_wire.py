"""Accepted hostile identifiers run for real: XML never changes the SOAP request on the wire, and Slack
markup is shown as typed (escaped) everywhere the app echoes it, while the records file keeps it exact."""

from __future__ import annotations

import json
from typing import Any

from kits.hostile import WireRecorder
from kits.paste_corpus import CASES
from kits.slack_bot import ADMIN, CHANNEL, Bot, fields, records_files, request_run
from lxml import etree

from bot.ids import COMMAND
from bot.mrkdwn import escape
from sync_engine.domain import RunStatus
from sync_engine.workday.soap import WD_NS

WD = f"{{{WD_NS}}}"


def _tagged(tag: str) -> list[str]:
    return [identifier for case in CASES if tag in case.tags for identifier in case.accepted or []]


def _customer_references(body: bytes) -> list[etree._Element]:
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    return list(root.iter(f"{WD}Customer_Reference"))


def test_xml_in_identifiers_reaches_workday_as_literal_text_in_one_element_each(
    hostile_bot: Bot, wire: WireRecorder
) -> None:
    hostile = _tagged("wire")
    real = hostile_bot.sandbox.data.customers[0].customer_id or ""
    identifiers = [*hostile, real]
    wire.requests.clear()

    run = request_run(hostile_bot, identifiers)
    final = hostile_bot.wait_run(run.id)

    assert final.status is RunStatus.COMPLETED, final.error
    assert final.identifiers == identifiers
    assert final.unresolved == hostile  # each one asked for as itself, and Workday knew none of them
    assert final.counts.customers == 1
    # (The connection check's Get_Customers names no customer: not ours to look at.)
    bodies = [body for body in wire.soap_bodies("Get_Customers_Request") if b"Request_References" in body]
    assert bodies, wire.requests
    first = bodies[0]
    references = _customer_references(first)
    ids = [element for reference in references for element in reference.iter(f"{WD}ID")]
    assert len(references) == len(ids) == len(identifiers)  # one ID element per identifier, no more
    assert [element.text for element in ids] == identifiers  # the identifier as literal text
    assert {element.get(f"{WD}type") for element in ids} == {"Customer_ID"}
    assert all(len(element) == 0 for element in ids)  # text only, no injected child elements
    for marker in (b"<!DOCTYPE", b"<!ENTITY", b"<![CDATA[", b"<?xml-stylesheet", b"&xxe;"):
        assert marker not in first
    for body in bodies[1:]:  # the re-asks after Workday's "Invalid ID value" name only real identifiers
        sent = [element.text for reference in _customer_references(body) for element in reference]
        assert set(sent) <= set(identifiers) and len(sent) == len(set(sent))


#: Raw Slack control sequences the corpus types; none may reach Slack unescaped from the app.
RAW = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U_OWNER>",
    "<#C_FIN>",
    "<https://evil",
    "<!subteam",
    "<!date^0",
)


def _sent_to_slack(bot: Bot) -> list[tuple[str, str]]:
    """(method, JSON of its parameters) of every message, view and response the app sent."""
    return [
        (call.method, json.dumps(call.params, ensure_ascii=False))
        for call in bot.slack.calls
        if call.method.startswith(("chat.", "views.", "response", "files.", "upload"))
    ]


def _status_message(bot: Bot, run_id: int) -> dict[str, Any] | None:
    """The run's status message once it shows the final status (the module's runs share a channel)."""
    for message in bot.status_messages():
        if (
            f"Run #{run_id} ·" in _texts(message["blocks"])
            and "Completed" in fields(message["blocks"])["Status"]
        ):
            return message
    return None


def _texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_mentions_links_and_markup_are_shown_escaped_and_kept_exact_in_the_records_file(
    hostile_bot: Bot,
) -> None:
    bot = hostile_bot
    hostile = _tagged("echo")
    real = bot.sandbox.data.customers[1].customer_id or ""
    identifiers = [*hostile, real]

    run = request_run(bot, identifiers)
    bot.wait_run(run.id)
    status = bot.wait_for(lambda: _status_message(bot, run.id))
    final = bot.service.get(run.id)
    ana = bot.user(ADMIN)
    assert ana.slash_command(COMMAND, text="history", channel=CHANNEL).error is None
    [history] = bot.wait_for(
        lambda: [e for e in bot.slack.ephemeral(ADMIN) if e["text"].startswith("Batch synchronizations")]
    )
    records = bot.wait_for(lambda: [f for f in records_files(bot.slack) if f["thread_ts"] == status["ts"]])

    assert final.status is RunStatus.COMPLETED and final.unresolved == hostile
    shown = _texts(status["blocks"])
    for identifier in hostile:  # each shown as typed: escaped, and in a code span where mrkdwn formats
        shown_as = escape(identifier) if "`" in identifier else f"`{escape(identifier)}`"
        assert json.dumps(shown_as, ensure_ascii=False)[1:-1] in shown, (identifier, shown)
    for method, sent in _sent_to_slack(bot):
        for raw in RAW:
            assert raw not in sent, (method, raw)
    assert "&lt;" not in _texts(history["blocks"]).replace("&lt;!", "")  # history echoes no identifiers
    assert [f["content"] for f in records] == ["".join(f"{i}\n" for i in identifiers).encode()]
