"""Whose payment is it: the rule that gives each Workday payment to exactly one customer (pure).

A payment names the customer who remitted it (0..1, `Remit-from_Customer_Reference`) and, in its
remittance advice, each invoice it pays with that invoice's bill-to customer. It belongs to the one bill-to
customer of every remittance line when there is one (a parent paying one subsidiary's invoices: the
subsidiary's), and otherwise to the customer who remitted it (no remittance, lines without a bill-to, or
lines for several customers: a split payment stays whole with its payer, so no customer's totals count it
twice). A customer's payments are then the payments it remitted and the payments its payer (its own
`Remit-from_Customer_Reference`) remitted that belong to it. A payment recorded without a remit-from
customer cannot be asked for by customer and is not stored; the invoices it paid show it in their amount
due and payment status.

A group of customers is fetched with the payments of every customer of the group and of every payer of
one (`remitters`), in one query; `assign` then hands each payment to the one customer it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sync_engine.domain import Customer, Payment

__all__ = ["RemittedPayment", "assign", "payment_owner", "remitters"]


@dataclass(frozen=True, slots=True)
class RemittedPayment:
    payment: Payment
    #: The customer it belongs to (`payment_owner`); None when nothing says.
    owner: str | None
    #: The customer that remitted it; None when the payment does not say and several were asked for.
    remitter: str | None


def payment_owner(remit_from_wid: str | None, bill_to_wids: Sequence[str | None]) -> str | None:
    """The customer a payment belongs to (see the module); None when it names nobody we can ask by."""
    if bill_to_wids and None not in bill_to_wids and len(set(bill_to_wids)) == 1:
        return bill_to_wids[0]
    return remit_from_wid


def remitters(customers: Sequence[Customer]) -> list[str]:
    """Whose payments a group needs: each customer's and each one's payer's, once, in order."""
    wids = [customer.wid for customer in customers]
    wids += [customer.payer_wid for customer in customers if customer.payer_wid]
    return list(dict.fromkeys(wids))


def assign(payments: Iterable[RemittedPayment], customers: Sequence[Customer]) -> dict[str, list[Payment]]:
    """Each customer's payments (in Workday's order): those it owns that it or its payer remitted. A
    payment whose remitter is unknown (it named none among several asked for) goes to its owner."""
    payer = {customer.wid: customer.payer_wid or customer.wid for customer in customers}
    held: dict[str, list[Payment]] = {customer.wid: [] for customer in customers}
    for row in payments:
        owner = row.owner
        if owner in held and row.remitter in (None, owner, payer[owner]):
            held[owner].append(row.payment)
    return held
