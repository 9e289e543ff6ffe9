"""A local Workday tenant that speaks Workday's wire contract (OAuth, Revenue_Management SOAP, Customer
Accounts REST), for tests, the demo and benchmarks, and `workday-resync sandbox`.

    with Sandbox(SandboxData.generate(customers=30, seed=7)) as sandbox:
        settings = sandbox.workday_settings()
        sandbox.knobs.rate_limit = 5
        sandbox.data.add_invoice(sandbox.data.customer_wids[0], total_amount=Decimal("1200.10"))

The contract it implements is /work/coord/wire-contract.md (shared with our client).
"""

from __future__ import annotations

from sync_engine.workday.sandbox.data import SandboxData
from sync_engine.workday.sandbox.faults import SandboxKnobs
from sync_engine.workday.sandbox.server import DEFAULT_API_VERSION, DEFAULT_TENANT, Sandbox, serve
from sync_engine.workday.sandbox.stats import RequestLogEntry, SandboxStats

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_TENANT",
    "RequestLogEntry",
    "Sandbox",
    "SandboxData",
    "SandboxKnobs",
    "SandboxStats",
    "serve",
]
