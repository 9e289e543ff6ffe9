"""A second pair of eyes from the terminal (RESYNC_APPROVAL_ABOVE): `sync` above the setting stores the
run awaiting approval and says how to decide; `approve` by anyone but its requester runs it, `reject`
ends it. Real processes against the sandbox and a SQLite store."""

from __future__ import annotations

import getpass
import json

from kits.cli import history_json as history
from kits.cli import run_cli as cli

from sync_engine.workday.sandbox import Sandbox


def as_bob(env: dict[str, str]) -> dict[str, str]:
    """The environment of another admin's login (what `getpass.getuser` reads first)."""
    return {**env, "LOGNAME": "bob", "USER": "bob"}


def references(sandbox: Sandbox, count: int) -> list[str]:
    return [customer.customer_id or "" for customer in sandbox.data.customers[1 : 1 + count]]


def test_sync_above_the_setting_waits_then_another_admin_approves_it(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    env = {**environment, "RESYNC_APPROVAL_ABOVE": "1"}

    held = cli(env, "sync", "--type", "reference", *references(sandbox, 2), "--yes")

    assert held.returncode == 3, held.stdout + held.stderr
    said = " ".join(held.stdout.split())
    assert "Run 1 awaits approval: it names 2 customers, more than 1 (RESYNC_APPROVAL_ABOVE)" in said
    assert "workday-resync approve 1 (another admin, logged in as themselves" in said
    assert "Nothing was written." in said
    [run] = history(env)
    assert run["status"] == "pending_approval" and run["approved_by"] is None
    assert run["approval"]["decision"] is None and run["requested_by"] == f"cli:{getpass.getuser()}"

    for command in ("resume", "abandon"):  # nothing to resume or abandon: it has not started
        refused = cli(env, command, "1")
        assert refused.returncode == 2 and "Run 1 awaits approval, so there is nothing to" in refused.stderr

    own = cli(env, "approve", "1")  # the requester (the same login) cannot approve it
    assert own.returncode == 2
    assert "Error: You requested run 1: another admin must approve it. Nothing was changed." in own.stderr
    assert history(env)[0]["status"] == "pending_approval"
    named = cli(env, "approve", "1", "--as", "cli:bob")  # no other name than one's login
    assert named.returncode == 2 and "No such option: --as" in named.stderr
    assert history(env)[0]["status"] == "pending_approval"

    approved = cli(as_bob(env), "approve", "1")

    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "Run 1 approved by cli:bob: queued." in approved.stdout and "Completed" in approved.stdout
    [run] = history(env)
    assert run["status"] == "completed" and run["counts"]["customers"] == 2  # type: ignore[index]
    assert run["approved_by"] == "cli:bob" and run["approved_at"] is not None
    assert run["approval"]["decision"] == "approved"  # type: ignore[index]
    table = cli(env, "history")
    assert "Awaiting approval" not in table.stdout and "Run 1: approved by cli:bob at " in table.stdout


def test_reject_ends_the_run_and_a_later_approval_is_refused(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    env = {**environment, "RESYNC_APPROVAL_ABOVE": "1"}
    assert cli(env, "sync", "--type", "reference", *references(sandbox, 3), "--yes").returncode == 3

    rejected = cli(env, "reject", "1", "--as", "cli:bob")

    assert rejected.returncode == 0, rejected.stderr
    assert "Run 1 rejected by cli:bob. Nothing was written." in rejected.stdout
    late = cli(as_bob(env), "approve", "1")
    assert late.returncode == 2 and "Run 1 was already rejected by cli:bob." in late.stderr
    [run] = history(env)
    assert run["status"] == "rejected" and run["counts"]["customers"] == 0  # type: ignore[index]
    assert run["approval"]["decided_by"] == "cli:bob" and run["approved_by"] is None  # type: ignore[index]
    unknown = cli(as_bob(env), "approve", "7")
    assert unknown.returncode == 2 and "There is no batch run 7." in unknown.stderr
    assert json.loads(cli(env, "history", "--json").stdout)[0]["status"] == "rejected"


def test_sync_preview_above_the_setting_holds_the_apply_until_another_admin_approves_it(
    sandbox: Sandbox, environment: dict[str, str]
) -> None:
    env = {**environment, "RESYNC_APPROVAL_ABOVE": "1"}

    held = cli(env, "sync", "--type", "reference", "--preview", *references(sandbox, 2), stdin="y\n")

    assert held.returncode == 3, held.stdout + held.stderr
    said = " ".join(held.stdout.split())
    assert "Run 2 awaits approval: it names 2 customers, more than 1 (RESYNC_APPROVAL_ABOVE)" in said
    assert "workday-resync approve 2 (another admin, logged in as themselves" in said
    assert "Nothing was written." in said
    assert [(run["kind"], run["status"]) for run in history(env)] == [
        ("apply", "pending_approval"),
        ("preview", "completed"),
    ]
    assert cli(env, "approve", "2").returncode == 2  # not by its requester

    approved = cli(as_bob(env), "approve", "2")

    assert approved.returncode == 0, approved.stdout + approved.stderr
    [apply, _] = history(env)
    assert apply["status"] == "completed" and apply["counts"]["customers"] == 2  # type: ignore[index]
