"""The politeness gate: in-flight cap and evenly spaced rate, in one process (`LocalGate`) and across
processes sharing Redis (`RedisGate`), including a slot kept past its TTL by the heartbeat and the slots of
a holder killed mid-request.

Timing asserts are lower bounds only (sleeping can only make things later), so a slow CI cannot break them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import redis

from sync_engine.workday import LocalGate, RedisGate, RequestGate
from sync_engine.workday.gate import CEILING_MEMORY_SECONDS, Pace
from sync_engine.workday.sandbox import Sandbox, SandboxData

ROOT = Path(__file__).resolve().parents[3]
#: Slot TTL of the heartbeat tests: short, so they are quick; the heartbeat renews every third of it.
SLOT_TTL = 0.3

# Runs in a child process: takes `slots` slots from `threads` threads, prints [(start, end), ...].
GATE_CHILD = """
import json, sys, threading, time
import redis
from sync_engine.workday import RedisGate

url, prefix, cap, rate, threads, slots = json.loads(sys.argv[1])
gate = RedisGate(redis.Redis.from_url(url), "acme", cap, rate, prefix=prefix)
events, lock = [], threading.Lock()

def work():
    for _ in range(slots):
        with gate.slot():
            start = time.time()
            time.sleep(0.02)
            end = time.time()
        with lock:
            events.append((start, end))

workers = [threading.Thread(target=work) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(json.dumps(events))
"""

# Runs in a child process: a whole client (Redis gate + Redis token store) syncing customers of a sandbox.
CLIENT_CHILD = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
import redis
from pydantic import SecretStr
from sync_engine.domain import IdentifierType
from sync_engine.settings import WorkdaySettings
from sync_engine.workday import RedisGate, RedisTokenStore, RetryPolicy, WorkdayClient

[args] = json.loads(sys.argv[1])
settings = WorkdaySettings(**{
    **args["settings"],
    "client_secret": SecretStr(args["settings"]["client_secret"]),
    "refresh_token": SecretStr(args["settings"]["refresh_token"]),
})
connection = redis.Redis.from_url(args["redis"])
prefix = args["prefix"]
gate = RedisGate.for_settings(connection, settings, prefix=prefix)
store = RedisTokenStore(connection, prefix + ":token")
retry = RetryPolicy(initial_wait=0.05, max_wait=0.5)
with WorkdayClient(settings, gate=gate, token_store=store, retry=retry) as client:
    found = client.resolve_customers(args["identifiers"], IdentifierType.REFERENCE).found
    with ThreadPoolExecutor(4) as threads:
        list(threads.map(client.fetch_customer, found.values()))
    print(json.dumps(dict(client.request_counts)))
"""

# Runs in a child process: takes every slot and waits to be killed.
HOLDER_CHILD = """
import json, sys, time
from contextlib import ExitStack
import redis
from sync_engine.workday import RedisGate

url, prefix, cap, ttl = json.loads(sys.argv[1])
gate = RedisGate(redis.Redis.from_url(url), "acme", cap, 1000.0, slot_ttl_seconds=ttl, prefix=prefix)
with ExitStack() as held:
    for _ in range(cap):
        held.enter_context(gate.slot())
    print("holding", flush=True)
    time.sleep(60)
"""


def spawn(script: str, *args: object) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", script, json.dumps(args)],
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=ROOT,
    )


def max_overlap(events: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in events] + [(end, -1) for _, end in events])
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def run_through(gate: RequestGate, threads: int, slots: int) -> tuple[int, list[float]]:
    """Peak in-flight (counted inside the slots) and admission times."""
    lock = threading.Lock()
    inside = peak = 0
    admitted: list[float] = []

    def work() -> None:
        nonlocal inside, peak
        for _ in range(slots):
            with gate.slot():
                with lock:
                    inside += 1
                    peak = max(peak, inside)
                    admitted.append(time.monotonic())
                time.sleep(0.03)  # longer than the spacing: slots overlap
                with lock:
                    inside -= 1

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(work) for _ in range(threads)]:
            future.result()
    return peak, admitted


def admit_in_background(gate: RequestGate) -> threading.Event:
    """Set once `gate` admits a request, which gives its slot back at once."""
    admitted = threading.Event()

    def enter() -> None:
        with gate.slot():
            admitted.set()

    threading.Thread(target=enter, daemon=True).start()
    return admitted


def heartbeats() -> int:
    return sum(thread.name == "workday-gate-heartbeat" for thread in threading.enumerate())


@pytest.fixture
def make_gate(redis_client: redis.Redis, prefix: str) -> Iterator[Callable[..., RedisGate]]:
    """`make_gate(max_in_flight, tenant=..., **options)`: gates of this test, closed after it."""
    gates: list[RedisGate] = []

    def make(max_in_flight: int, tenant: str = "acme", **options: Any) -> RedisGate:
        options = {"rate_limit": 1000.0, "prefix": prefix, **options}
        gates.append(RedisGate(redis_client, tenant, max_in_flight, **options))
        return gates[-1]

    yield make
    for gate in gates:
        gate.close()


# --- one process ------------------------------------------------------------------------------------


def test_local_gate_caps_in_flight_and_spaces_requests() -> None:
    started = time.monotonic()
    peak, admitted = run_through(LocalGate(max_in_flight=2, rate_limit=100.0), threads=6, slots=5)

    assert peak == 2
    assert len(admitted) == 30
    assert max(admitted) - started >= 29 / 100 * 0.99


def test_a_lone_throttle_costs_a_fifth_of_the_rate_for_a_moment() -> None:
    pace = Pace.cut(None, 5.0, now=100.0)
    assert pace is not None
    # A fifth off, then half a request per second more each quiet second, straight back to the setting.
    assert [pace.rate(5.0, 100.0 + quiet) for quiet in (0, 1, 2, 30)] == pytest.approx([4.0, 4.5, 5.0, 5.0])
    # One long after the last is lone again.
    later = Pace.cut(pace, 5.0, now=100.0 + CEILING_MEMORY_SECONDS)
    assert later == Pace(after=4.0, ceiling=None, since=100.0 + CEILING_MEMORY_SECONDS)


def test_a_throttle_that_follows_another_halves_the_pace_up_to_a_ceiling() -> None:
    lone = Pace.cut(None, 5.0, now=100.0)
    assert lone is not None
    # Throttles of requests already on their way do not cut it again.
    assert Pace.cut(lone, 5.0, now=100.5) is None
    pace = Pace.cut(lone, 5.0, now=102.0)
    # The rate then (back at 5) is halved and becomes the ceiling.
    assert pace == Pace(after=2.5, ceiling=5.0, since=102.0)
    # Half a request per second more each quiet second, up to just under the throttled 5 ...
    assert [pace.rate(5.0, 102.0 + quiet) for quiet in (0, 1, 2, 3, 30)] == pytest.approx(
        [2.5, 3.0, 3.5, 4.0, 4.75]
    )
    # ... and past it only once it has been quiet for a while.
    assert pace.rate(5.0, 102.0 + CEILING_MEMORY_SECONDS + 1) == 5.0
    # A later throttle cuts what the rate is then.
    assert Pace.cut(pace, 5.0, now=105.0) == Pace(after=2.0, ceiling=4.0, since=105.0)


def test_a_throttle_slows_every_caller_of_a_redis_gate(make_gate: Callable[..., RedisGate]) -> None:
    first, second = make_gate(2, rate_limit=5.0), make_gate(2, rate_limit=5.0)
    assert second.rate() == 5.0
    first.throttled()
    assert first.rate() == second.rate() == 4.0


@pytest.mark.parametrize(
    "previous",
    [
        Pace(after=4.0, ceiling=None, since=-2.5),  # a lone cut moments ago: halved now, with a ceiling
        Pace(after=2.0, ceiling=4.0, since=-1.5),
        Pace(after=2.0, ceiling=4.0, since=-CEILING_MEMORY_SECONDS - 5),  # forgotten: lone again
    ],
)
def test_the_redis_gate_paces_as_pace_does(
    make_gate: Callable[..., RedisGate], redis_client: redis.Redis, prefix: str, previous: Pace
) -> None:
    """`redis_gate`'s Lua is `Pace` rewritten: the same state gives the same rate and the same cut."""
    gate = make_gate(2, rate_limit=5.0)
    seconds, micros = redis_client.time()
    now = seconds + micros / 1_000_000
    since = f"{(now + previous.since) * 1_000_000:.0f}"
    state = {"after": previous.after, "ceiling": previous.ceiling or 0, "since": since}
    redis_client.hset(f"{prefix}:acme:pace", mapping=state)
    in_redis = Pace(previous.after, previous.ceiling, now + previous.since)
    assert gate.rate() == pytest.approx(in_redis.rate(5.0, now))
    gate.throttled()
    cut = Pace.cut(in_redis, 5.0, now)
    assert cut is not None
    # Redis's clock moved on a little since `now`: not a whole second.
    assert gate.rate() == pytest.approx(cut.rate(5.0, now))


def test_local_gate_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        LocalGate(0, 1.0)
    with pytest.raises(ValueError):
        LocalGate(1, 0)


def test_redis_gate_in_one_process(
    redis_client: redis.Redis, prefix: str, make_gate: Callable[..., RedisGate]
) -> None:
    gate = make_gate(3, rate_limit=100.0)
    started = time.monotonic()
    peak, admitted = run_through(gate, threads=8, slots=4)

    assert peak <= 3
    assert max(admitted) - started >= 31 / 100 * 0.99
    # Every slot was given back.
    assert redis_client.zcard(f"{prefix}:acme:in-flight") == 0


def test_tenants_do_not_share_limits(
    redis_client: redis.Redis, prefix: str, make_gate: Callable[..., RedisGate]
) -> None:
    first, second = make_gate(1, tenant="one"), make_gate(1, tenant="two")
    with first.slot(), second.slot():
        assert redis_client.zcard(f"{prefix}:one:in-flight") == 1
        assert redis_client.zcard(f"{prefix}:two:in-flight") == 1


def test_redis_gate_rejects_nonsense(redis_client: redis.Redis) -> None:
    for options in ({"hold_seconds": 0}, {"slot_ttl_seconds": 0}, {"rate_limit": 0}):
        with pytest.raises(ValueError):
            RedisGate(redis_client, "acme", 1, **{"rate_limit": 1.0, **options})


# --- heartbeat --------------------------------------------------------------------------------------


def test_a_slot_held_past_its_ttl_is_kept_by_the_heartbeat(make_gate: Callable[..., RedisGate]) -> None:
    holder, other = make_gate(1, slot_ttl_seconds=SLOT_TTL), make_gate(1, slot_ttl_seconds=SLOT_TTL)
    with holder.slot():
        admitted = admit_in_background(other)
        # A slow request: several TTLs, and the slot is still ours.
        assert not admitted.wait(5 * SLOT_TTL)
    assert admitted.wait(5)


def test_the_heartbeat_does_not_bring_back_a_dropped_slot(
    redis_client: redis.Redis, prefix: str, make_gate: Callable[..., RedisGate]
) -> None:
    gate = make_gate(1, slot_ttl_seconds=SLOT_TTL)
    key = f"{prefix}:acme:in-flight"
    with gate.slot():
        # As another process does with an expired entry (or `reset()`): the holder is gone from Redis.
        [holder] = redis_client.zrange(key, 0, -1)
        redis_client.zrem(key, holder)
        time.sleep(2 * SLOT_TTL)  # several renewals
        assert redis_client.zcard(key) == 0


def test_a_slot_is_renewed_for_hold_seconds_at_most(make_gate: Callable[..., RedisGate]) -> None:
    # A request hung past every timeout: its slot goes back after hold_seconds + the TTL.
    holder = make_gate(1, slot_ttl_seconds=SLOT_TTL, hold_seconds=SLOT_TTL)
    other = make_gate(1, slot_ttl_seconds=SLOT_TTL)
    with holder.slot():
        assert admit_in_background(other).wait(5)


def test_the_heartbeat_thread_starts_on_first_slot_and_stops_on_close(
    make_gate: Callable[..., RedisGate],
) -> None:
    before = heartbeats()
    gate = make_gate(1)
    assert heartbeats() == before
    with gate.slot():
        assert heartbeats() == before + 1
    gate.close()
    assert heartbeats() == before


# --- several processes ------------------------------------------------------------------------------


def test_two_processes_share_the_caps(redis_url: str, prefix: str) -> None:
    cap, rate, threads, slots = 3, 50.0, 4, 5
    started = time.time()
    children = [spawn(GATE_CHILD, redis_url, prefix, cap, rate, threads, slots) for _ in range(2)]
    outputs = [child.communicate(timeout=60)[0] for child in children]
    assert [child.returncode for child in children] == [0, 0]

    events = [(start, end) for output in outputs for start, end in json.loads(output)]
    assert len(events) == 2 * threads * slots
    assert max_overlap(events) <= cap
    # 40 admissions reserved 20 ms apart, the first no earlier than `started`.
    assert max(start for start, _ in events) - started >= (len(events) - 1) / rate * 0.99


def test_two_processes_against_the_sandbox(redis_url: str, prefix: str) -> None:
    data = SandboxData.generate(customers=8, seed=13, big_customer_documents=300)
    with Sandbox(data) as sandbox:
        # The sandbox throttles anything over 30/s; both processes together are held to 30/s, 3 in flight.
        sandbox.knobs.rate_limit = 30
        sandbox.knobs.latency = 0.05
        settings = sandbox.workday_settings(max_in_flight=3, rate_limit=30.0, timeout=10.0)
        shared = {
            **{name: getattr(settings, name) for name in ("base_url", "tenant", "client_id", "api_version")},
            "client_secret": settings.client_secret.get_secret_value(),
            "refresh_token": settings.refresh_token.get_secret_value(),
            **{
                name: getattr(settings, name) for name in ("reference_id_type", "max_in_flight", "rate_limit")
            },
            "timeout": settings.timeout,
        }
        identifiers = [customer.customer_id for customer in sandbox.data.customers]
        started = time.monotonic()
        arguments = {"settings": shared, "redis": redis_url, "prefix": prefix, "identifiers": identifiers}
        children = [spawn(CLIENT_CHILD, arguments) for _ in range(2)]
        outputs = [child.communicate(timeout=120)[0] for child in children]
        elapsed = time.monotonic() - started
        assert [child.returncode for child in children] == [0, 0]

        counts = [json.loads(output) for output in outputs]
        made = sum(sum(count.values()) for count in counts)
        assert sandbox.stats.total() == made
        assert sandbox.max_in_flight_seen <= 3
        assert sandbox.stats.count(outcome="throttled") == 0
        # One token for both processes (shared through Redis).
        assert sum(count.get("token", 0) for count in counts) == 1
        assert elapsed >= (made - 1) / 30 * 0.99


@pytest.fixture
def holder(redis_url: str, prefix: str) -> Iterator[subprocess.Popen[str]]:
    child = spawn(HOLDER_CHILD, redis_url, prefix, 4, SLOT_TTL)
    yield child
    if child.poll() is None:
        child.kill()
        child.wait()


def test_the_slots_of_a_killed_process_are_freed_within_the_ttl(
    redis_client: redis.Redis,
    prefix: str,
    holder: subprocess.Popen[str],
    make_gate: Callable[..., RedisGate],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"
    time.sleep(3 * SLOT_TTL)
    # Past their first expiry, all 4 slots are still live: the child's heartbeat renewed them.
    seconds, microseconds = redis_client.time()
    expiries = [score for _, score in redis_client.zrange(f"{prefix}:acme:in-flight", 0, -1, withscores=True)]
    assert len(expiries) == 4 and min(expiries) > seconds * 1_000_000 + microseconds
    os.kill(holder.pid, signal.SIGKILL)  # no `finally`, no release
    holder.wait()
    killed = time.monotonic()

    # The replacement worker wants all 4 slots back.
    gate = make_gate(4, slot_ttl_seconds=SLOT_TTL)
    with ExitStack() as held:
        for _ in range(4):
            held.enter_context(gate.slot())
        recovered = time.monotonic() - killed
    with capsys.disabled():
        print(f"\nslots of a SIGKILLed holder free again after {recovered:.2f} s (slot TTL {SLOT_TTL} s)")
    assert recovered < SLOT_TTL + 5
    assert redis_client.zcard(f"{prefix}:acme:in-flight") == 0
