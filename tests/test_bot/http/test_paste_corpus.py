"""Every paste of the corpus (tests/kits/paste_corpus.py) through both front doors.

Slack: the admin opens the modal, picks the type, types into the boxes and submits, through the emulator
over HTTP. Where Slack's own client would refuse to send (a box over 3,000 characters, the first box
empty), the same submission is then forged, signed, straight to the app: the app must hold on its own.
CLI: `workday-resync sync --type … --file FILE`, a real process, declining the warning.
Refused: the exact message (under the right box / one stderr line), exit 2, nothing stored, no traceback.
Accepted: exactly the expected identifiers (a draft run in Slack; the count in the CLI).
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from kits.hostile import LoggedErrors, post_signed, store_counts
from kits.paste_corpus import CASES, Case
from kits.slack_bot import ADMIN, Bot

from bot.ids import ActionId, BlockId
from bot.modal import INPUT_MAX_LENGTH
from devtools.slack_emulator.client import ClientRejected
from sync_engine.domain import IdentifierType
from sync_engine.identifiers import WARNING
from sync_engine.store.database import Database
from sync_engine.terminal import selected

SLACK_CASES = [case for case in CASES if case.in_slack]


def _forged_submission(bot: Bot, view: dict[str, Any], case: Case) -> tuple[int, str]:
    """The view_submission Slack would send with these values, signed, sent without the client's checks."""
    view = copy.deepcopy(view)
    values = view["state"]["values"]
    values[BlockId.IDENTIFIERS][ActionId.IDENTIFIERS]["value"] = case.text
    values[BlockId.MORE_IDENTIFIERS][ActionId.MORE_IDENTIFIERS]["value"] = case.more or None
    ws = bot.slack._ws
    payload = {
        "type": "view_submission",
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "user": {"id": ADMIN, "username": "ana", "name": "ana", "team_id": ws.team_id},
        "api_app_id": ws.app_id,
        "trigger_id": ws.issue_trigger(ADMIN),
        "view": view,
        "response_urls": [],
    }
    if "413" not in case.tags:
        return post_signed(bot.user(ADMIN), payload)
    # The app answers from the declared length alone; sending the megabyte would only race its close.
    body = urlencode({"payload": json.dumps(payload)}).encode()
    url = urlsplit(bot.server.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    connection.putrequest("POST", url.path)
    for name, value in {**bot.user(ADMIN).sign(body), "Content-Length": str(len(body))}.items():
        connection.putheader(name, value)
    connection.endheaders()
    answer = connection.getresponse()
    connection.close()
    return answer.status, ""


@pytest.mark.parametrize("case", SLACK_CASES, ids=[case.name for case in SLACK_CASES])
def test_the_modal_answers_every_paste(
    hostile_bot: Bot, hostile_database: Database, case: Case, app_errors: LoggedErrors
) -> None:
    bot = hostile_bot
    ana = bot.user(ADMIN)
    before = store_counts(hostile_database)
    bot.open_request(ana)
    ana.select_radio(BlockId.ID_TYPE, ActionId.ID_TYPE, case.kind)
    oversized = "413" in case.tags
    if not oversized:  # a megabyte is not even typed: Slack's box stops at 3,000 characters
        ana.type(BlockId.IDENTIFIERS, ActionId.IDENTIFIERS, case.text)
        if case.more:
            ana.type(BlockId.MORE_IDENTIFIERS, ActionId.MORE_IDENTIFIERS, case.more)

    try:
        answer = ana.submit()
        status, body = answer.status, answer.body
        assert answer.error is None, answer
    except ClientRejected as refused:
        # Slack's client keeps these back; the app must still hold when one arrives anyway.
        too_long = max(len(case.text), len(case.more)) > INPUT_MAX_LENGTH
        assert too_long or not case.text, refused.errors
        status, body = _forged_submission(bot, ana.open_view(), case)

    if oversized:
        assert status == 413  # refused before it reaches a listener
        assert store_counts(hostile_database) == before
    elif case.error is not None:
        assert status == 200
        block = {"identifiers": BlockId.IDENTIFIERS, "more_identifiers": BlockId.MORE_IDENTIFIERS}
        assert json.loads(body) == {
            "response_action": "errors",
            "errors": {block[case.error_block]: case.error},
        }
        assert store_counts(hostile_database) == before
    else:
        assert case.accepted is not None
        assert status == 200
        answer = json.loads(body)  # the form becomes the confirmation
        assert answer["response_action"] == "update"
        assert WARNING.format(n=len(case.accepted)) in json.dumps(answer["view"]["blocks"])
        run_id = int(json.loads(answer["view"]["private_metadata"])["run_id"])
        draft = bot.service.get(run_id)
        assert draft.identifiers == case.accepted
        assert draft.identifier_type is IdentifierType(case.kind)
        assert store_counts(hostile_database) == (before[0] + 1, before[1] + len(case.accepted))
    assert app_errors() == []


# --- the CLI ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, CliResult], Path]]:
    """Every case through `sync --file`, four processes at a time, against one migrated SQLite store."""
    root = tmp_path_factory.mktemp("cli")
    store = root / "store.db"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WORKDAY_", "REDIS_URL"))}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{store}",
            # Never reached: every case is refused or declined before Workday is called.
            "WORKDAY_BASE_URL": "http://127.0.0.1:9",
            "WORKDAY_TENANT": "hostile",
            "WORKDAY_CLIENT_ID": "id",
            "WORKDAY_CLIENT_SECRET": "secret",
            "WORKDAY_REFRESH_TOKEN": "refresh",
        }
    )
    subprocess.run([sys.executable, "-m", "sync_engine", "migrate"], env=env, check=True, capture_output=True)

    def run(case: Case) -> tuple[str, CliResult]:
        folder = root / case.name
        folder.mkdir()
        (folder / "file").write_bytes(case.file_bytes)
        kind = "source-id" if case.kind == "source_id" else "reference"
        done = subprocess.run(
            [sys.executable, "-m", "sync_engine", "sync", "--type", kind, "--file", "file"],
            env=env,
            cwd=folder,
            input=b"n\n",
            capture_output=True,
            timeout=120,
        )
        return case.name, CliResult(
            done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(pool.map(run, CASES))
    yield results, store


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_cli_answers_every_file(cli_results: tuple[dict[str, CliResult], Path], case: Case) -> None:
    results, store = cli_results
    result = results[case.name]

    assert "Traceback" not in result.stderr
    if case.accepted is not None:
        assert result.returncode == 1, result.stderr  # the warning was declined
        assert selected(len(case.accepted)) in result.stdout
        assert WARNING.format(n=len(case.accepted)) in " ".join(result.stdout.split())
    else:
        assert result.returncode == 2
        assert result.stderr == f"Error: {case.expected_cli_error}\n"
    assert store_counts(Database(f"sqlite:///{store}")) == (0, 0)
