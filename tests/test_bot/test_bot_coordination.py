"""The throttle behind status updates: the same rules in memory (one process) and in Redis (many)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from bot.status.lock_heartbeat import LockHeartbeat
from bot.status.throttle import LastUpdate, LocalThrottle, RateBudget, RedisThrottle, Throttle

BUDGET = RateBudget(per_minute=60, burst=3)  # one a second, three at once


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
def coordination(request: pytest.FixtureRequest) -> Iterator[Throttle]:
    if request.param == "local":
        yield LocalThrottle(BUDGET)
        return
    connection = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"test-coordination:{time.monotonic_ns()}"
    yield RedisThrottle(connection, BUDGET, prefix=prefix)
    for key in connection.scan_iter(f"{prefix}:*"):
        connection.delete(key)


def test_one_lock_holder_per_run(coordination: Throttle) -> None:
    token = coordination.acquire(1, ttl=5)
    assert token is not None
    assert coordination.acquire(1, ttl=5) is None
    assert coordination.acquire(2, ttl=5) is not None  # other runs are independent
    coordination.release(1, "someone-else")
    assert coordination.acquire(1, ttl=5) is None
    coordination.release(1, token)
    assert coordination.acquire(1, ttl=5) is not None


def test_a_lock_whose_holder_died_expires(coordination: Throttle) -> None:
    assert coordination.acquire(1, ttl=0.1) is not None
    time.sleep(0.15)
    assert coordination.acquire(1, ttl=5) is not None


def test_a_live_holder_keeps_its_short_lock_and_a_dead_one_loses_it(coordination: Throttle) -> None:
    token = coordination.acquire(1, ttl=0.3)
    assert token is not None
    with LockHeartbeat(coordination, 1, token, ttl=0.3, every=0.05) as heartbeat:
        time.sleep(0.8)  # well past the TTL: the heartbeat keeps it
        assert coordination.acquire(1, ttl=5) is None
    assert not heartbeat.lost
    assert coordination.renew(1, "someone-else", ttl=5) is False
    time.sleep(0.4)  # no heartbeat now, as after a SIGKILL: the lock expires
    assert coordination.renew(1, token, ttl=5) is False
    assert coordination.acquire(1, ttl=5) is not None


def test_a_holder_that_stalled_past_the_ttl_knows_it_lost_the_lock(coordination: Throttle) -> None:
    token = coordination.acquire(1, ttl=0.1)
    assert token is not None
    with LockHeartbeat(coordination, 1, token, ttl=0.1, every=5) as heartbeat:
        time.sleep(0.2)
        assert coordination.acquire(1, ttl=5) is not None  # someone else took it meanwhile
    assert heartbeat.lost


def test_one_trailing_update_at_a_time_upgraded_to_final(coordination: Throttle) -> None:
    assert coordination.request_trailing(1, final=False, ttl=10) is True
    assert coordination.request_trailing(1, final=False, ttl=10) is False
    assert coordination.request_trailing(1, final=True, ttl=10) is False  # upgrades the queued one
    assert coordination.take_trailing(1) is True
    assert coordination.take_trailing(1) is False
    assert coordination.request_trailing(1, final=False, ttl=10) is True  # queued again after it started
    assert coordination.take_trailing(1) is False


def test_the_workspace_budget_allows_a_burst_then_one_per_interval(coordination: Throttle) -> None:
    now = 1_000_000.0
    assert [coordination.reserve(now, force=False) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = coordination.reserve(now, force=False)
    assert wait == pytest.approx(1.0)
    assert coordination.reserve(now + wait, force=False) == 0.0
    assert coordination.reserve(now + wait, force=True) == 0.0  # final states are never held back by it


def test_a_429_pauses_everyone_even_final_states(coordination: Throttle) -> None:
    now = 2_000_000.0
    coordination.pause(now + 7)
    assert coordination.reserve(now, force=True) == pytest.approx(7)
    assert coordination.reserve(now + 7, force=True) == 0.0


def test_last_update_round_trip(coordination: Throttle) -> None:
    assert coordination.last_update(3) is None
    coordination.record_update(3, LastUpdate(at=12.5, digest="abc"))
    assert coordination.last_update(3) == LastUpdate(at=12.5, digest="abc")


def test_a_claim_goes_to_one_caller_until_it_expires(coordination: Throttle) -> None:
    assert coordination.claim("final-sweep:1", ttl=0.2)
    assert not coordination.claim("final-sweep:1", ttl=0.2)
    assert coordination.claim("final-sweep:2", ttl=0.2)  # other names are independent
    time.sleep(0.3)
    assert coordination.claim("final-sweep:1", ttl=0.2)
