"""A run's reason (free text or a ticket): stored with the run, required when RESYNC_REQUIRE_REASON is on
(by the run service itself, whatever front end calls it), and history searched by reason, identifier or
requester, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from kits.old_store import migrate_to
from kits.stack import Stack
from sqlalchemy import func, inspect, select

from sync_engine import jobs
from sync_engine.domain import IdentifierType, RunKind
from sync_engine.errors import ResyncError
from sync_engine.preview_plan import plan_apply
from sync_engine.progress import RunEvents
from sync_engine.restore_plan import plan_restore
from sync_engine.run_reason import MAX_REASON_LENGTH, REASON_REQUIRED, ReasonError
from sync_engine.service import RunService
from sync_engine.store.database import Database
from sync_engine.store.models import BatchRunRow

REFERENCE = IdentifierType.REFERENCE


def stored_runs(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(BatchRunRow)) or 0)


def searched(service: RunService, text: str) -> list[int]:
    return [run.id for run in service.history(limit=50, search=text)]


def test_history_search_finds_runs_by_reason_identifier_or_requester(stack: Stack) -> None:
    first, second, third = (customer.customer_id or "" for customer in stack.sandbox.data.customers[:3])
    service = stack.service
    fix = stack.wait(service.submit(REFERENCE, [first], "cli:ana", reason="INC-42 ledger fix, 100% sure").id)
    quarter = stack.wait(service.submit(REFERENCE, [second], "U_BOB", reason="quarter end").id)
    plain = stack.wait(service.submit(REFERENCE, [third, "C-NOPE"], "cli:carl").id)
    # A draft never confirmed is not history, whatever it says.
    service.create_draft(REFERENCE, [first], "cli:dora", reason="INC-42 too")

    assert fix.reason == "INC-42 ledger fix, 100% sure" and plain.reason is None
    assert searched(service, "inc-42") == [fix.id]  # any case
    assert searched(service, "QUARTER") == [quarter.id]
    assert searched(service, third.lower()) == [plain.id]  # an identifier
    assert searched(service, "c-nope") == [plain.id]  # one Workday did not know
    assert searched(service, stack.sandbox.data.customers[0].wid.upper()) == [fix.id]  # the Workday ID
    assert searched(service, "u_bob") == [quarter.id]  # the requester
    assert searched(service, "cli:") == [plain.id, fix.id]  # most recent first
    # Wildcards in the search match themselves: `%` only the reason holding one, `_` only U_BOB.
    assert searched(service, "%") == [fix.id]
    assert searched(service, "_") == [quarter.id]
    assert searched(service, "0%") == [fix.id]
    assert searched(service, "nothing like it") == []
    assert [run.id for run in service.history(limit=1, offset=1, search="cli:")] == [fix.id]
    with pytest.raises(ResyncError, match="The search is empty"):
        service.history(search="  ")


def test_a_required_reason_is_checked_by_the_service_and_a_refusal_stores_nothing(stack: Stack) -> None:
    service = RunService(stack.database, jobs.DramatiqDispatcher(), stack.rt.events, require_reason=True)
    ids = [stack.sandbox.data.customers[0].customer_id or ""]
    requests = stack.sandbox.stats.total()

    for refused in (
        lambda: service.submit(REFERENCE, ids, "cli:ana"),
        lambda: service.submit(REFERENCE, ids, "cli:ana", kind=RunKind.PREVIEW, reason=" \t "),
        lambda: service.create_draft(REFERENCE, ids, "U_ANA"),
        lambda: service.create_draft_once("slack-view:V1:h1", REFERENCE, ids, "U_ANA", reason="   "),
    ):
        with pytest.raises(ReasonError) as error:
            refused()
        assert str(error.value) == REASON_REQUIRED

    assert stored_runs(stack.database) == 0
    assert stack.sandbox.stats.total() == requests
    run = stack.wait(service.submit(REFERENCE, ids, "cli:ana", reason="  JIRA-7  ").id)
    assert run.reason == "JIRA-7"  # trimmed


def test_an_apply_carries_its_previews_reason(stack: Stack) -> None:
    service = RunService(stack.database, jobs.DramatiqDispatcher(), stack.rt.events, require_reason=True)
    ids = [stack.sandbox.data.customers[0].customer_id or ""]
    preview = stack.wait(service.submit(REFERENCE, ids, "cli:ana", kind=RunKind.PREVIEW, reason="INC-9").id)

    applied = stack.wait(service.submit_apply(plan_apply(stack.database, preview.id), "cli:ana").id)

    assert (applied.kind, applied.reason) == (RunKind.APPLY, "INC-9")


def test_a_restore_needs_a_reason_too_when_one_is_required(stack: Stack) -> None:
    service = RunService(stack.database, jobs.DramatiqDispatcher(), stack.rt.events, require_reason=True)
    ids = [stack.sandbox.data.customers[0].customer_id or ""]
    synced = stack.wait(service.submit(REFERENCE, ids, "cli:ana", reason="INC-10").id)
    plan = plan_restore(stack.database, synced.id)

    with pytest.raises(ReasonError, match="A reason is required"):
        service.submit_restore(plan, "cli:ana")
    assert [run.id for run in service.history()] == [synced.id]

    restored = stack.wait(service.submit_restore(plan, "cli:ana", reason="INC-10 undo").id)
    assert (restored.kind, restored.reason) == (RunKind.RESTORE, "INC-10 undo")


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("x" * (MAX_REASON_LENGTH + 1), f"The reason is 501 characters long: at most {MAX_REASON_LENGTH}."),
        ("INC-1\x00", "The reason holds a control character (U+0000) at character 6"),
    ],
)
def test_an_unusable_reason_is_refused_with_a_specific_message(
    stack: Stack, reason: str, message: str
) -> None:
    with pytest.raises(ReasonError, match=re.escape(message)):
        stack.service.submit(REFERENCE, ["C-000001"], "cli:ana", reason=reason)

    assert stored_runs(stack.database) == 0


def test_a_different_reason_makes_a_different_request(database: Database) -> None:
    # Drafts only: nothing is queued, so no broker is needed.
    service = RunService(database, jobs.DramatiqDispatcher(), RunEvents())
    key, ids = "slack-view:V1:h1", ["C-000001"]

    first, stored = service.create_draft_once(key, REFERENCE, ids, "U_ANA", reason="INC-1")
    again, stored_again = service.create_draft_once(key, REFERENCE, ids, "U_ANA", reason=" INC-1 ")
    other, stored_other = service.create_draft_once(key, REFERENCE, ids, "U_ANA", reason="INC-2")
    without, stored_without = service.create_draft_once(key, REFERENCE, ids, "U_ANA")

    assert (stored, stored_again, stored_other, stored_without) == (True, False, True, True)
    assert again.id == first.id
    assert len({first.id, other.id, without.id}) == 3
    assert (other.reason, without.reason) == ("INC-2", None)


def test_the_reason_column_migrates_down_and_up(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    database.migrate()
    service = RunService(database, jobs.DramatiqDispatcher(), RunEvents())
    run = service.create_draft(REFERENCE, ["C-000001"], "U_ANA", reason="INC-3")

    migrate_to(empty_database_url, "0007")
    with database.engine.connect() as connection:
        assert "reason" not in {column["name"] for column in inspect(connection).get_columns("batch_runs")}
    database.migrate()

    # The run outlived the round trip; its reason went with the downgrade.
    assert (service.get(run.id).identifiers, service.get(run.id).reason) == (["C-000001"], None)
    database.dispose()
