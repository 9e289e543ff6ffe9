"""`workday-resync sandbox`: serve the built-in Workday sandbox, with its knobs as options."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

__all__ = ["register", "sandbox"]


class AmountShape(StrEnum):
    """The sandbox's `amount_shape` knob (sync_engine/workday/sandbox/rest.py AMOUNT_SHAPES)."""

    OBJECT = "object"
    NUMBER = "number"
    STRING = "string"
    REFERENCE = "reference"
    MIXED = "mixed"


def sandbox(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8089,
    customers: Annotated[int, typer.Option(min=1, help="Customers in the data set.")] = 120,
    seed: Annotated[int, typer.Option(help="Seed of the data set.")] = 42,
    latency: Annotated[float, typer.Option(min=0, help="Seconds added to every response.")] = 0.0,
    amount_shape: Annotated[
        AmountShape,
        typer.Option(help="How REST amounts are written (mixed: each document one of the others)."),
    ] = AmountShape.OBJECT,
    document_currency: Annotated[
        bool, typer.Option(help="REST invoices carry their own currency field (else only their amounts may).")
    ] = True,
    zero_adjustment_totals: Annotated[
        bool, typer.Option(help="REST adjustments carry totalAmount 0 (figures in net, tax, due amounts).")
    ] = False,
    stale_token_scopes: Annotated[
        bool, typer.Option(help="REST answers 403 to access tokens issued before the start; fresh ones work.")
    ] = False,
    rest_service_disabled: Annotated[
        bool, typer.Option(help="The Customer Accounts REST service is not enabled: HTTP 404.")
    ] = False,
    rest_invisible_every: Annotated[
        int, typer.Option(min=0, help="Every n-th REST invoice is counted in total but not returned.")
    ] = 0,
    rest_order_moves: Annotated[
        int, typer.Option(min=0, help="The next n REST invoice pages past a list's first come reordered.")
    ] = 0,
    max_response_bytes: Annotated[
        int | None, typer.Option(min=1, help="Larger REST/SOAP bodies are broken off at this many bytes.")
    ] = None,
    seconds_per_result: Annotated[
        float, typer.Option(min=0, help="Seconds page 1 of a query takes per document it matches.")
    ] = 0.0,
    knob: Annotated[
        list[str] | None,
        typer.Option(help="Set a sandbox knob, NAME=VALUE (any SandboxKnobs field, e.g. fault_locale=de)."),
    ] = None,
    payers: Annotated[
        int, typer.Option(min=0, help="Customers that pay for two others each (parent-paid payments).")
    ] = 0,
    list_customers: Annotated[
        bool,
        typer.Option(
            "--list",
            help="Print the customers (reference, WID, documents) the same --customers, --seed and --payers "
            "serve, and exit.",
        ),
    ] = False,
) -> None:
    """Serve the built-in Workday sandbox (prints the WORKDAY_* settings that point at it)."""
    from sync_engine.workday.sandbox import serve
    from sync_engine.workday.sandbox.faults import knobs_from
    from sync_engine.workday.sandbox.server import customer_listing, generate_data

    if list_customers:
        for line in customer_listing(generate_data(customers, seed, payers)):
            print(line)
        return

    try:
        # `--knob` comes last: it may set any knob, those with options of their own included.
        knobs = knobs_from(
            knob or [],
            latency=latency,
            amount_shape=amount_shape.value,
            document_currency=document_currency,
            zero_adjustment_totals=zero_adjustment_totals,
            stale_token_scopes=stale_token_scopes,
            rest_service_disabled=rest_service_disabled,
            rest_invisible_every=rest_invisible_every,
            rest_order_moves=rest_order_moves,
            max_response_bytes=max_response_bytes,
            seconds_per_result=seconds_per_result,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--knob") from None
    serve(port=port, customers=customers, seed=seed, latency=latency, knobs=knobs, payers=payers)


def register(app: typer.Typer) -> None:
    """Add `sandbox` to the `workday-resync` command group."""
    app.command()(sandbox)
