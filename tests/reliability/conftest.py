"""Fixtures of the reliability tests: a client-side engine (submits runs, reads the store) against the
shared PostgreSQL and the test's Redis database, and a Redis server of the test's own when it must die."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kits.reliability import PrivateRedis
from kits.slack_bot import ADMIN, CHANNEL

from devtools.slack_emulator import SlackEmulator


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    redis.Redis.from_url(redis_url).flushdb()
    return redis_url


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_user(ADMIN, name="ana", is_admin=True)
        emulator.add_channel(CHANNEL, name="finance", bot_member=True)
        yield emulator
