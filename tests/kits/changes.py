"""Changes entered on the sandbox between two runs, so that a run's overwrite shows in every kind of row."""

from __future__ import annotations

from decimal import Decimal

from sync_engine.workday.sandbox import SandboxData


def change_on_workday(data: SandboxData, wid: str, tag: str) -> None:
    """Change the customer and a document of each kind on Workday; add one invoice, delete one document."""
    snapshot = data.snapshot(wid)
    data.update_customer(wid, name=f"{snapshot.customer.name} {tag}")
    if snapshot.invoices:
        first = snapshot.invoices[0]
        data.update_document(first.wid, total_amount=first.total_amount + Decimal("10.00"))
    if snapshot.payments:
        data.delete_document(snapshot.payments[0].wid)
    if snapshot.credit_notes:
        note = snapshot.credit_notes[0]
        data.update_document(note.wid, invoice_number=f"{note.credit_note_number} {tag}")
    data.add_invoice(wid, invoice_number=f"NEW-{tag}-{wid[:6]}", total_amount=Decimal("12.34"))
