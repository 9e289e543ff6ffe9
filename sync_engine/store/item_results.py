"""A run's per-customer results, read from its items (`run_items`) in paste order."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync_engine.domain import RunKind
from sync_engine.errors import RunNotFoundError
from sync_engine.results import CustomerResult, outcome_of
from sync_engine.store.models import BatchRunRow, CustomerRow, RunItemRow

__all__ = ["load_results"]


def load_results(session: Session, run_id: int) -> list[CustomerResult]:
    """One result per identifier of the run; `RunNotFoundError` if there is no such run.

    An item without a name of its own (stored before items kept names, or a failed restore's) shows the
    stored customer's name now.
    """
    kind = session.scalar(select(BatchRunRow.kind).where(BatchRunRow.id == run_id))
    if kind is None:
        raise RunNotFoundError(f"There is no batch run {run_id}.")
    rows = session.execute(
        select(
            RunItemRow.identifier,
            RunItemRow.customer_wid,
            func.coalesce(RunItemRow.customer_name, CustomerRow.name).label("name"),
            RunItemRow.status,
            RunItemRow.invoices,
            RunItemRow.payments,
            RunItemRow.credit_notes,
            RunItemRow.error,
        )
        .outerjoin(CustomerRow, CustomerRow.wid == RunItemRow.customer_wid)
        .where(RunItemRow.run_id == run_id)
        .order_by(RunItemRow.position)
    )
    return [
        CustomerResult(
            identifier=row.identifier,
            workday_id=row.customer_wid,
            name=row.name,
            outcome=outcome_of(row.status, RunKind(kind)),
            invoices=row.invoices,
            payments=row.payments,
            credit_notes=row.credit_notes,
            error=row.error,
        )
        for row in rows
    ]
