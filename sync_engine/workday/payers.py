"""Whose payment is it: the rule that gives each Workday payment to exactly one customer, and this
process's memory of what a payer paid for the customers it pays.

A payment names the customer who remitted it (0..1, `Remit-from_Customer_Reference`) and, in its
remittance advice, each invoice it pays with that invoice's bill-to customer. It belongs to the one bill-to
customer of every remittance line when there is one (a parent paying one subsidiary's invoices: the
subsidiary's), and otherwise to the customer who remitted it (no remittance, lines without a bill-to, or
lines for several customers: a split payment stays whole with its payer, so no customer's totals count it
twice). A customer's payments are then the payments it remitted and the payments its payer (its own
`Remit-from_Customer_Reference`) remitted that belong to it. A payment recorded without a remit-from
customer cannot be asked for by customer and is not stored; the invoices it paid show it in their amount
due and payment status.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sync_engine.domain import Payment
from sync_engine.errors import WorkdayTransientError

__all__ = ["PaidForOthers", "PayerEntry", "payment_owner"]

#: (run, payer) entries kept: a run's customers are fetched close together, so a few hundred suffice.
CAPACITY = 512


def payment_owner(remit_from_wid: str | None, bill_to_wids: Sequence[str | None]) -> str | None:
    """The customer a payment belongs to (see the module); None when it names nobody we can ask by."""
    if bill_to_wids and None not in bill_to_wids and len(set(bill_to_wids)) == 1:
        return bill_to_wids[0]
    return remit_from_wid


def by_owner(payments: Iterable[tuple[Payment, str]], payer_wid: str) -> dict[str, list[Payment]]:
    """The payer's payments that belong to other customers, by owner, in the payer's order."""
    grouped: dict[str, list[Payment]] = {}
    for payment, owner in payments:
        if owner != payer_wid:
            grouped.setdefault(owner, []).append(payment)
    return grouped


@dataclass(slots=True)
class PayerEntry:
    """One payer's payments for others, fetched once per run: by the first fetch that needs them (or by the
    payer's own fetch), awaited by the others."""

    payer_wid: str
    done: threading.Event = field(default_factory=threading.Event)
    for_others: dict[str, list[Payment]] | None = None

    def complete(self, for_others: dict[str, list[Payment]]) -> None:
        self.for_others = for_others
        self.done.set()

    def fail(self) -> None:
        self.done.set()

    def wait(self, timeout: float | None) -> dict[str, list[Payment]]:
        if not self.done.wait(timeout) or self.for_others is None:
            raise WorkdayTransientError(
                f"The payments of payer {self.payer_wid} could not be fetched for this customer in time; "
                "fetch the customer again."
            )
        return self.for_others


class PaidForOthers:
    """Per (run, payer): the payments the payer remitted that belong to other customers. Thread-safe; one
    per client, so once per payer per run in each process. Without a run, nothing is shared."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[int, str], PayerEntry] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, run: int | None, payer_wid: str) -> tuple[PayerEntry, bool]:
        """The payer's entry, and whether the caller must fill it (nobody has, or the last try failed)."""
        if run is None:
            return PayerEntry(payer_wid), True
        key = (run, payer_wid)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and not (entry.done.is_set() and entry.for_others is None):
                self._entries.move_to_end(key)
                return entry, False
            entry = self._entries[key] = PayerEntry(payer_wid)
            self._trim()
            return entry, True

    def offer(self, run: int | None, payer_wid: str, for_others: dict[str, list[Payment]]) -> None:
        """What the payer's own fetch found, for the customers it pays that are fetched after it."""
        if run is None:
            return
        with self._lock:
            if (run, payer_wid) not in self._entries:
                entry = self._entries[(run, payer_wid)] = PayerEntry(payer_wid)
                entry.complete(for_others)
                self._trim()

    def _trim(self) -> None:
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
