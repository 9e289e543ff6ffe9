"""Polite by measurement: against a tenant stricter than our settings (the sandbox's strict limiter, any N
arrivals in a sliding second), throttled answers lower the tenant's rate, in this process and, through
Redis, in every process sharing the tenant, and the sync still completes with exact data.

Figures are printed; asserts are on behaviour (the rate was lowered, throttling dies down), never timings.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import redis
from kits.gate_children import start_client

from sync_engine.domain import IdentifierType
from sync_engine.workday import LocalGate, RedisGate, RequestGate, RetryPolicy, WorkdayClient
from sync_engine.workday.sandbox import Sandbox

#: Our setting (WORKDAY_RATE_LIMIT) and the tenant's real, stricter limit.
OUR_RATE, TENANT_LIMIT = 5.0, 2
#: Patient enough for the first seconds, when the tenant refuses most of what we send at our setting.
RETRY = RetryPolicy(attempts=12, initial_wait=0.05, max_wait=0.5)


def sync_all(sandbox: Sandbox, client: WorkdayClient) -> tuple[int, int]:
    """Fetch every customer, 4 at a time, and check each against the tenant's data; (requests, throttled)
    the sandbox saw meanwhile."""
    requests, throttled = sandbox.stats.total(), sandbox.stats.count(outcome="throttled")
    identifiers = [customer.customer_id or "" for customer in sandbox.data.customers]
    resolution = client.resolve_customers(identifiers, IdentifierType.REFERENCE)
    assert resolution.unresolved == []
    with ThreadPoolExecutor(4) as threads:
        snapshots = list(threads.map(client.fetch_customer, resolution.found.values()))
    for snapshot in snapshots:
        expected = sandbox.data.snapshot(snapshot.customer.wid)
        assert (snapshot.invoices, snapshot.credit_notes, snapshot.payments) == (
            expected.invoices,
            expected.credit_notes,
            expected.payments,
        )
    assert len(snapshots) == len(sandbox.data.customers)
    return sandbox.stats.total() - requests, sandbox.stats.count(outcome="throttled") - throttled


def client_of(sandbox: Sandbox, gate: RequestGate) -> WorkdayClient:
    settings = sandbox.workday_settings(rate_limit=OUR_RATE, timeout=10.0)
    return WorkdayClient(settings, gate=gate, retry=RETRY)


def test_a_tenant_stricter_than_our_setting_slows_us_down_until_it_stops_throttling(sandbox: Sandbox) -> None:
    sandbox.knobs.strict_rate_limit = TENANT_LIMIT
    gate = LocalGate(max_in_flight=4, rate_limit=OUR_RATE)
    with client_of(sandbox, gate) as client:
        first = sync_all(sandbox, client)
        lowered = gate.rate()
        second = sync_all(sandbox, client)
    print(
        f"\nstrict {TENANT_LIMIT}/s, WORKDAY_RATE_LIMIT {OUR_RATE:g}: first sync {first[1]} of {first[0]} "
        f"requests throttled, then {second[1]} of {second[0]}; rate {lowered:.2f}/s after the first"
    )
    # Throttled answers lowered the rate, and once it came down the tenant throttles (almost) nothing.
    assert first[1] > 0 and lowered < OUR_RATE
    assert second[1] <= max(1, second[0] // 20) < first[1]


def test_a_throttle_in_one_process_lowers_the_rate_of_another(
    sandbox: Sandbox, redis_url: str, prefix: str
) -> None:
    sandbox.knobs.strict_rate_limit = TENANT_LIMIT
    settings = sandbox.workday_settings(rate_limit=OUR_RATE, timeout=10.0)
    connection = redis.Redis.from_url(redis_url)
    # This process's gate for the same tenant: it sends nothing while the other process syncs.
    ours = RedisGate.for_settings(connection, settings, prefix=prefix)
    assert ours.rate() == OUR_RATE
    identifiers = [customer.customer_id or "" for customer in sandbox.data.customers]
    child = start_client(settings, redis_url=redis_url, prefix=prefix, identifiers=identifiers)
    output = child.communicate(timeout=300)[0]
    assert child.returncode == 0
    theirs = json.loads(output)
    throttled_there = sandbox.stats.count(outcome="throttled")
    lowered = ours.rate()
    try:
        with WorkdayClient(settings, gate=ours, retry=RETRY) as client:
            requests, throttled_here = sync_all(sandbox, client)
    finally:
        ours.close()
        connection.close()
    print(
        f"\nother process: {theirs['customers']} customers, {throttled_there} throttled, its rate then "
        f"{theirs['rate']:.2f}/s; this process's rate before its first request {lowered:.2f}/s, then "
        f"{throttled_here} of {requests} requests throttled"
    )
    assert theirs["customers"] == len(identifiers) and throttled_there > 0
    # The other process's throttles slowed this one before it sent anything.
    assert lowered < OUR_RATE
