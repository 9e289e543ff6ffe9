"""Other processes of the service, for the tests of a `RedisGate` shared across processes: each a Workday
client with the Redis gate and token store that fetches every customer, as a worker process does."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr

from sync_engine.settings import WorkdaySettings

ROOT = Path(__file__).resolve().parents[2]

# The child: resolve the identifiers, fetch every customer `threads` at a time; prints what it did.
CLIENT_CHILD = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
import redis
from pydantic import SecretStr
from sync_engine.domain import IdentifierType
from sync_engine.settings import WorkdaySettings
from sync_engine.workday import RedisGate, RedisTokenStore, RetryPolicy, WorkdayClient

[args] = json.loads(sys.argv[1])
values = dict(args["settings"])
for secret in ("client_secret", "refresh_token"):
    values[secret] = SecretStr(values[secret])
settings = WorkdaySettings(**values)
connection = redis.Redis.from_url(args["redis"])
gate = RedisGate.for_settings(connection, settings, prefix=args["prefix"])
store = RedisTokenStore(connection, args["prefix"] + ":token")
# Patient enough for a tenant that refuses most of what we send at first.
retry = RetryPolicy(attempts=12, initial_wait=0.05, max_wait=0.5)
with WorkdayClient(settings, gate=gate, token_store=store, retry=retry) as client:
    found = client.resolve_customers(args["identifiers"], IdentifierType.REFERENCE).found
    with ThreadPoolExecutor(args["threads"]) as threads:
        snapshots = list(threads.map(client.fetch_customer, found.values()))
    requests = sum(client.request_counts.values())
    print(json.dumps({"customers": len(snapshots), "requests": requests, "rate": gate.rate()}))
"""


def start_client(
    settings: WorkdaySettings, *, redis_url: str, prefix: str, identifiers: list[str], threads: int = 4
) -> subprocess.Popen[str]:
    """A child process fetching every customer of `identifiers` (references) through the Redis gate of
    `prefix`; its stdout's one line: {"customers", "requests", "rate"} (its gate's rate at the end)."""
    values = {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in dataclasses.asdict(settings).items()
    }
    arguments = {
        "settings": values,
        "redis": redis_url,
        "prefix": prefix,
        "identifiers": identifiers,
        "threads": threads,
    }
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT_CHILD, json.dumps([arguments])],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
