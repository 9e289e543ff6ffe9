"""The sandbox tenant's data (`SandboxData`): generated, versioned, mutable, and what our client should see.

The versions and what a request sees are `versions.VersionedTenant`'s, the mutation API tests use is
`mutations.MutableTenant`'s; this module adds the data set's generation and the expectations, in our
record types, that tests compare our client's results with.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sync_engine.domain import CreditNote, Customer, CustomerSnapshot, Invoice, Payment, RunCounts
from sync_engine.workday.sandbox.generate import generate_tenant
from sync_engine.workday.sandbox.model import CustomerView, SandboxInvoice, SandboxPayment
from sync_engine.workday.sandbox.mutations import MutableTenant
from sync_engine.workday.sandbox.versions import EPOCH

__all__ = ["EPOCH", "SandboxData"]


class SandboxData(MutableTenant):
    """The tenant's customers and documents. Build one with `SandboxData.generate()`."""

    @classmethod
    def generate(
        cls,
        customers: int = 120,
        seed: int = 42,
        *,
        big_customer_documents: int = 1200,
        total_documents: int | None = None,
    ) -> SandboxData:
        """A deterministic data set: the same seed gives the same WIDs, identifiers and counts (dates are
        relative to today). The first customer gets `big_customer_documents` invoices; `total_documents`, when
        given, is about the number of documents of the whole set."""
        tenant = generate_tenant(
            customers,
            seed,
            big_customer_documents=big_customer_documents,
            total_documents=total_documents,
            today=datetime.now(UTC).date(),
        )
        return cls(tenant, seed=seed)

    # --- expectations, in our record types ----------------------------------------------------------------

    @property
    def customers(self) -> list[Customer]:
        """Every customer as our client should return it, in seed order."""
        return [self.customer(wid) for wid in self.customer_wids]

    def customer(self, wid: str) -> Customer:
        """The customer as our client should return it now."""
        return _customer_record(self._current_view(wid))

    def snapshot(self, customer_wid: str) -> CustomerSnapshot:
        """Everything our client should fetch for the customer now (`fetched_at` is the epoch)."""
        view = self._current_view(customer_wid)
        return CustomerSnapshot(
            customer=_customer_record(view),
            invoices=[_invoice_record(d) for d in view.documents if d.transaction_type == "Invoice"],
            credit_notes=[
                _credit_note_record(d) for d in view.documents if d.transaction_type == "Adjustment"
            ],
            payments=[_payment_record(p) for p in self._payments_of(view)],
            fetched_at=EPOCH,
        )

    def _payments_of(self, view: CustomerView) -> list[SandboxPayment]:
        """The customer's payments by our rule (README, Payments): those it remitted and those its payer
        remitted, each only when the customer is the payment's owner."""
        wid, payer = view.customer.wid, view.customer.payer_wid
        remitters = [view] if payer in (None, wid) else [view, self._current_view(payer)]
        return [p for v in remitters for p in v.payments if p.remit_from and p.owner_wid == wid]

    def counts(self, customer_wid: str) -> tuple[int, int, int]:
        """(invoices, payments, credit notes) of the customer now."""
        view = self._current_view(customer_wid)
        adjustments = sum(document.transaction_type == "Adjustment" for document in view.documents)
        return len(view.documents) - adjustments, len(self._payments_of(view)), adjustments

    def run_counts(self, wids: Sequence[str]) -> RunCounts:
        """The counts a run that syncs these customers now must end with."""
        per_customer = [self.counts(wid) for wid in wids]
        return RunCounts(
            customers=len(per_customer),
            invoices=sum(invoices for invoices, _, _ in per_customer),
            payments=sum(payments for _, payments, _ in per_customer),
            credit_notes=sum(credit_notes for _, _, credit_notes in per_customer),
        )

    def find_by_reference(self, value: str, id_type: str) -> Customer | None:
        """The customer a reference names, as Get_Customers resolves it; None if unknown (or unknown type)."""
        wid = self.resolve(id_type, value)
        return None if wid is None else self.customer(wid)

    def _current_view(self, wid: str) -> CustomerView:
        with self._lock:  # every mutation so far, to the microsecond (not a moment handed to a request)
            now = max(datetime.now(UTC), self._last_stamp)
        view = self.view(wid, now)
        if view is None:
            raise KeyError(f"no customer {wid}")
        return view


def _customer_record(view: CustomerView) -> Customer:
    customer = view.customer
    return Customer(
        wid=customer.wid,
        customer_id=customer.customer_id,
        customer_reference_id=customer.customer_reference_id,
        name=customer.name,
        currency=customer.currency,
        status=customer.status,
        total_balance=view.total_balance,
        payer_wid=customer.payer_wid,
    )


def _invoice_record(document: SandboxInvoice) -> Invoice:
    return Invoice(
        wid=document.wid,
        invoice_number=document.invoice_number,
        invoice_date=document.invoice_date,
        due_date=document.due_date,
        total_amount=document.total_amount,
        tax_amount=document.tax_amount,
        due_amount=document.due_amount,
        currency=document.currency,
        invoice_status=document.invoice_status,
        payment_status=document.payment_status,
    )


def _credit_note_record(document: SandboxInvoice) -> CreditNote:
    return CreditNote(
        wid=document.wid,
        credit_note_number=document.invoice_number,
        credit_note_date=document.invoice_date,
        total_amount=document.total_amount,
        due_amount=document.due_amount,
        currency=document.currency,
        invoice_status=document.invoice_status,
        payment_status=document.payment_status,
        related_invoice_wid=document.related_invoice_wid,
    )


def _payment_record(payment: SandboxPayment) -> Payment:
    return Payment(
        wid=payment.wid,
        payment_reference_id=payment.reference_id,
        payment_number=payment.payment_number,
        payment_date=payment.payment_date,
        amount=payment.amount,
        currency=payment.currency,
        payment_status=payment.payment_status,
        check_number=payment.check_number,
        memo=payment.memo,
    )
