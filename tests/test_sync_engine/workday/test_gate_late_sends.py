"""Processes sharing a `RedisGate` against Workday's strict limit (the sandbox's `strict_rate_limit`: the
(N + 1)-th arrival in any sliding second is refused), while those processes are paused now and then, as a
loaded host does (CPU starvation, a VM's stolen time): a caller whose reserved send time passed while it
was paused must not send bunched with the ones reserved after it.

Asserts count the sandbox's throttled answers, never timings.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import threading
import time

from kits.gate_children import start_client

from sync_engine.workday.sandbox import Sandbox, SandboxData

#: Our rate and the tenant's limit (equal: the gate is all that keeps us under it), requests in flight.
RATE, IN_FLIGHT = 20, 8
PROCESSES, THREADS = 3, 4
#: Each pause of a sender process, and the time between two pauses (of any of them), in seconds.
PAUSE, BETWEEN_PAUSES = (0.5, 0.7), (0.5, 1.0)


def pause_now_and_then(children: list[subprocess.Popen[str]], stop: threading.Event) -> int:
    """SIGSTOP a random live child for a moment, again and again until `stop`; how many pauses."""
    pauses = 0
    while not stop.wait(random.uniform(*BETWEEN_PAUSES)):
        child = random.choice(children)
        # A child that ended meanwhile is not paused (its pid is not reaped before `communicate` returns).
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGSTOP)
            time.sleep(random.uniform(*PAUSE))
            os.kill(child.pid, signal.SIGCONT)
            pauses += 1
    return pauses


def test_paused_processes_sharing_a_redis_gate_are_not_throttled(redis_url: str, prefix: str) -> None:
    data = SandboxData.generate(customers=80, seed=17, big_customer_documents=60)
    with Sandbox(data) as sandbox:
        sandbox.knobs.strict_rate_limit = RATE
        settings = sandbox.workday_settings(max_in_flight=IN_FLIGHT, rate_limit=float(RATE), timeout=10.0)
        identifiers = [customer.customer_id or "" for customer in data.customers]
        children = [
            start_client(
                settings, redis_url=redis_url, prefix=prefix, identifiers=identifiers, threads=THREADS
            )
            for _ in range(PROCESSES)
        ]
        stop = threading.Event()
        pauses: list[int] = []
        pauser = threading.Thread(target=lambda: pauses.append(pause_now_and_then(children, stop)))
        pauser.start()
        try:
            outputs = [child.communicate(timeout=300)[0] for child in children]
        finally:
            stop.set()
            pauser.join()
        assert [child.returncode for child in children] == [0] * PROCESSES
        made = sandbox.stats.total()
        throttled = sandbox.stats.count(outcome="throttled")
    results = [json.loads(output) for output in outputs]
    print(
        f"\n{PROCESSES} processes sharing a RedisGate at {RATE}/s against a strict {RATE}/s, "
        f"{pauses[0]} pauses: {throttled} of {made} requests throttled"
    )
    assert [result["customers"] for result in results] == [len(identifiers)] * PROCESSES
    assert sum(result["requests"] for result in results) == made
    # The bound: at most 1 % of the requests.
    assert throttled <= made // 100
