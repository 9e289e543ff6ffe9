"""The Dramatiq actors: thin shims over `sync_engine.sync`, with their retry and time limits.

Actors carry only ids; the store holds everything else. They are declared against a placeholder broker
and bound to the real one by `bind()` once settings are known (embedded stub or Redis).
"""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from sync_engine import item_work, runtime, sync

__all__ = [
    "QUEUE",
    "UNBOUND",
    "DramatiqDispatcher",
    "actors",
    "bind",
    "register",
    "start_run",
    "sync_customer",
    "sync_customers",
]

#: The queue both actors use.
QUEUE = "workday_resync"

#: Until `bind()`: declaring actors must not create Dramatiq's default (network) broker. Plugins declare
#: theirs against a placeholder broker of their own, then `register` them.
UNBOUND = StubBroker()

#: Resolving waits out a Workday outage of about ten minutes (5 s doubling to 160 s) before giving up.
START_RUN_RETRIES = 6
#: The client already retries each request ~6 times; these retries cover longer trouble (a DB failover).
SYNC_CUSTOMER_RETRIES = 3


#: Options of the customer jobs (both actors).
_SYNC_OPTIONS: dict[str, Any] = {
    "queue_name": QUEUE,
    "max_retries": SYNC_CUSTOMER_RETRIES,
    "min_backoff": 5_000,
    "max_backoff": 60_000,
    "time_limit": 15 * 60_000,
}


def _retries_so_far() -> int:
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message is not None else 0


@dramatiq.actor(
    broker=UNBOUND,
    queue_name=QUEUE,
    max_retries=START_RUN_RETRIES,
    min_backoff=5_000,
    max_backoff=160_000,
    time_limit=10 * 60_000,
)
def start_run(run_id: int) -> None:
    """Resolve a run's identifiers on Workday, then send one `sync_customers` per group of customers."""
    rt = runtime.current()
    final = _retries_so_far() >= START_RUN_RETRIES
    item_ids = sync.resolve_run(rt, run_id, final_attempt=final)
    for group in sync.plan_groups(rt, item_ids) if item_ids else []:
        sync_customers.send(group)


@dramatiq.actor(broker=UNBOUND, **_SYNC_OPTIONS)
def sync_customers(item_ids: list[int]) -> None:
    """Re-import a group of customers of a run, fetched together, each with all its documents (or the
    run kind's work: `item_work`)."""
    final = _retries_so_far() >= SYNC_CUSTOMER_RETRIES
    for group in item_work.work_items(runtime.current(), item_ids, final_attempt=final):
        sync_customers.send(group)


@dramatiq.actor(broker=UNBOUND, **_SYNC_OPTIONS)
def sync_customer(item_id: int) -> None:
    """One customer alone: messages sent before customers were fetched in groups (a rolling upgrade)."""
    sync_customers([item_id])


_actors: list[dramatiq.Actor[..., None]] = [start_run, sync_customers, sync_customer]


def register(actor: dramatiq.Actor[..., None]) -> None:
    """Add a plugin's actor (declared against `UNBOUND`) to those `bind` puts on the real broker; it
    replaces one of the same name (the plugin installed again, into another runtime of the process)."""
    _actors[:] = [known for known in _actors if known.actor_name != actor.actor_name] + [actor]


def actors() -> tuple[dramatiq.Actor[..., None], ...]:
    return tuple(_actors)


def bind(broker: dramatiq.Broker) -> None:
    """Declare every actor on `broker` and make it the process's global broker."""
    if not any(isinstance(middleware, CurrentMessage) for middleware in broker.middleware):
        broker.add_middleware(CurrentMessage())
    dramatiq.set_broker(broker)
    for actor in _actors:
        actor.broker = broker
        broker.declare_actor(actor)


class DramatiqDispatcher:
    """Sends the actors' messages through whatever broker they are bound to."""

    def start_run(self, run_id: int) -> None:
        start_run.send(run_id)

    def sync_customers(self, item_ids: list[int]) -> None:
        sync_customers.send(item_ids)
