"""Re-running what failed: `workday-resync sync --rerun RUN_ID` as an admin uses it (a real process against
the sandbox and a SQLite store), and what the run service refuses to re-run, on both stacks."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kits.cli import cli_environment, run_cli
from kits.cli import history_json as history
from kits.stack import Stack

from sync_engine.domain import IdentifierType, RunKind, RunStatus
from sync_engine.errors import RunNotFoundError
from sync_engine.rerun import RerunRefusedError
from sync_engine.workday.sandbox import Sandbox, SandboxData


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox of this test's own: the tests turn its faults on and off."""
    with Sandbox(SandboxData.generate(customers=6, seed=9)) as sandbox:
        yield sandbox


@pytest.fixture
def env(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    return cli_environment(sandbox, tmp_path)


def said(result: subprocess.CompletedProcess[str]) -> str:
    return " ".join((result.stdout + result.stderr).split())


def test_sync_rerun_takes_the_failed_and_unresolved_identifiers_of_a_run(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    customers = sandbox.data.customers[:4]
    refs = [c.customer_id or "" for c in customers]
    failing = customers[2]
    sandbox.knobs.hidden_payments_of = {failing.wid}  # Workday refuses that customer's payments
    typed = [refs[0], "C-NOPE-1", refs[1], refs[2], "c-nope-2", refs[3]]
    first = run_cli(env, "sync", "--type", "reference", "--yes", *typed)
    [failed] = history(env)
    assert first.returncode == 1 and failed["status"] == "error", said(first)
    assert failed["unresolved"] == ["C-NOPE-1", "c-nope-2"]
    sandbox.knobs.hidden_payments_of = set()
    to_rerun = ["C-NOPE-1", refs[2], "c-nope-2"]  # as typed, in order

    rerun = run_cli(env, "sync", "--rerun", str(failed["id"]), stdin="y\n")

    assert rerun.returncode == 0, said(rerun)
    shown = said(rerun)
    assert f"Re-run of run {failed['id']}, its failed and unresolved customers by reference: " in shown
    assert ", ".join(to_rerun) in shown
    assert "3 customers selected." in shown
    assert "This re-imports and overwrites 3 customers" in shown  # asked as `sync` asks
    latest, _ = history(env)
    assert (latest["kind"], latest["source_run_id"], latest["rerun_of"]) == (
        "sync",
        failed["id"],
        failed["id"],
    )
    assert (latest["identifier_type"], latest["identifiers"]) == ("reference", to_rerun)
    assert latest["status"] == "completed" and latest["unresolved"] == ["C-NOPE-1", "c-nope-2"]
    counts = sandbox.data.run_counts([failing.wid])  # just the customer that failed
    assert latest["counts"] == {
        "customers": 1,
        "invoices": counts.invoices,
        "payments": counts.payments,
        "credit_notes": counts.credit_notes,
    }
    assert f"Re-run of #{failed['id']}" in run_cli(env, "history").stdout


def test_sync_rerun_refuses_what_it_cannot_re_run_and_stores_nothing(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    known = sandbox.data.customers[1].customer_id or ""
    assert run_cli(env, "sync", "--type", "reference", "--yes", known).returncode == 0
    assert run_cli(env, "sync", "--type", "reference", "--yes", known, "C-NOPE").returncode == 0
    before = history(env)
    partly, clean = (run["id"] for run in before)
    requests_before = sandbox.stats.total()

    refused = {
        "nothing failed": run_cli(env, "sync", "--rerun", str(clean), "--yes"),
        "unknown run": run_cli(env, "sync", "--rerun", "999", "--yes"),
        "identifiers too": run_cli(env, "sync", "--rerun", str(partly), "C-000001", "--yes"),
        "a type too": run_cli(env, "sync", "--rerun", str(partly), "--type", "source-id", "--yes"),
        "declined": run_cli(env, "sync", "--rerun", str(partly), stdin="n\n"),
        "neither": run_cli(env, "sync", "C-000001", "--yes"),
    }

    assert {name: result.returncode for name, result in refused.items()} == {
        "nothing failed": 2,
        "unknown run": 2,
        "identifiers too": 2,
        "a type too": 2,
        "declined": 1,
        "neither": 2,
    }
    assert f"Run {clean} has no failed or unresolved customers: there is nothing to re-run." in said(
        refused["nothing failed"]
    )
    assert "There is no batch run 999." in said(refused["unknown run"])
    assert f"takes its identifiers from run {partly}" in said(refused["identifiers too"])
    assert f"takes the identifier type from run {partly} too" in said(refused["a type too"])
    assert "Invalid value for '--type': required (or --rerun RUN_ID" in said(refused["neither"])
    assert all("Traceback" not in result.stderr for result in refused.values())
    assert history(env) == before
    assert sandbox.stats.total() == requests_before


def test_the_service_re_runs_only_finished_syncs_with_something_failed(stack: Stack) -> None:
    known = stack.sandbox.data.customers[0].customer_id or ""
    service = stack.service
    clean = stack.run(IdentifierType.REFERENCE, [known])
    preview = service.submit(IdentifierType.REFERENCE, [known, "C-NOPE"], "U_TEST", kind=RunKind.PREVIEW)
    assert stack.wait(preview.id).unresolved == ["C-NOPE"]
    draft = service.create_draft(IdentifierType.REFERENCE, ["C-NOPE"], "U_TEST")
    stack.sandbox.knobs.latency = 2.0  # the next run cannot finish before it is asked about
    working = service.submit(IdentifierType.REFERENCE, ["C-NOPE"], "U_TEST")

    with pytest.raises(
        RerunRefusedError, match=rf"^Run {working.id} has not finished \((received|in progress)\)"
    ):
        service.rerun_plan(working.id)
    stack.sandbox.knobs.latency = 0.0
    assert stack.wait(working.id).status is RunStatus.ERROR  # nothing resolved
    cases = {
        clean.id: f"Run {clean.id} has no failed or unresolved customers: there is nothing to re-run.",
        preview.id: f"Run {preview.id} is a preview: only a sync run's failed customers can be re-run.",
        draft.id: f"Run {draft.id} was never confirmed: there is nothing to re-run.",
    }
    for run_id, message in cases.items():
        with pytest.raises(RerunRefusedError) as refused:
            service.rerun_plan(run_id)
        assert str(refused.value) == message
    with pytest.raises(RunNotFoundError):
        service.rerun_plan(10_000)
    plan = service.rerun_plan(working.id)
    assert (plan.source_run_id, plan.identifier_type, plan.identifiers) == (
        working.id,
        IdentifierType.REFERENCE,
        ["C-NOPE"],
    )


def test_a_request_re_running_a_run_is_not_the_same_request_as_one_that_does_not(stack: Stack) -> None:
    service = stack.service
    args = ("slack-view:V1:h1", IdentifierType.REFERENCE, ["C-1", "C-2"], "U_ADMIN")

    plain, stored_plain = service.create_draft_once(*args, slack_channel="C_FIN")
    rerun, stored_rerun = service.create_draft_once(*args, slack_channel="C_FIN", rerun_of=7)
    again, stored_again = service.create_draft_once(*args, slack_channel="C_FIN", rerun_of=7)

    assert stored_plain and stored_rerun and not stored_again
    assert plain.id != rerun.id == again.id
    assert (plain.rerun_of, rerun.rerun_of) == (None, 7)
