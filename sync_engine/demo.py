"""`workday-resync demo`: a real batch against the built-in Workday sandbox, on the embedded defaults."""

from __future__ import annotations

from pydantic import SecretStr
from rich.console import Console

from sync_engine.domain import IdentifierType, RunStatus
from sync_engine.identifiers import WARNING
from sync_engine.settings import load_settings
from sync_engine.startup import open_engine
from sync_engine.terminal import follow_run, print_history
from sync_engine.workday.sandbox import Sandbox, SandboxData

__all__ = ["run_demo"]

#: A reference the sandbox does not know, to show how unresolved customers are reported.
UNKNOWN_REFERENCE = "C-999999"


def run_demo(console: Console, *, batch_size: int) -> bool:
    """Sync `batch_size` sandbox customers by reference; True when the run completed with exact counts."""
    data = SandboxData.generate(customers=max(60, batch_size), seed=2026)
    with Sandbox(data) as sandbox:
        settings = load_settings().model_copy(
            update={
                "redis_url": None,
                "workday_base_url": sandbox.base_url,
                "workday_tenant": sandbox.tenant,
                "workday_client_id": sandbox.client_id,
                "workday_client_secret": SecretStr(sandbox.client_secret),
                "workday_refresh_token": SecretStr(sandbox.refresh_token),
            }
        )
        chosen = [customer for customer in data.customers[: batch_size - 1]]
        identifiers = [customer.customer_id or customer.wid for customer in chosen] + [UNKNOWN_REFERENCE]
        console.print(f"Workday sandbox at {sandbox.base_url} (tenant {sandbox.tenant}).")
        console.print(f"Store: {settings.database_url}; worker: in-process.")
        console.print(f"{len(identifiers)} customers selected (by reference).")
        console.print(WARNING.format(n=len(identifiers)) + " [dim](confirmed for the demo)[/]")
        with open_engine(settings, work=True) as (service, rt):
            run = service.submit(IdentifierType.REFERENCE, identifiers, requested_by="demo")
            final = follow_run(console, service, rt, run.id)
            recent = service.history(limit=5)
        expected = data.run_counts([customer.wid for customer in chosen])
    print_history(console, recent)
    if final.unresolved:
        console.print(f"[yellow]Not found on Workday, as intended:[/] {', '.join(final.unresolved)}")
    ok = final.status is RunStatus.COMPLETED and final.counts == expected
    if ok:
        console.print(f"[green]Run {final.id} completed; its counts equal the sandbox's data:[/] {expected}")
    else:
        console.print(
            f"[red]Run {final.id} ended {final.status.label}; expected {expected}, got {final.counts}.[/]"
        )
        if final.error:
            console.print(final.error, style="red", markup=False)
    return ok
