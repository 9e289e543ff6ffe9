"""What applying a preview would change, per customer and in total (pure: snapshots in, counts out).

Per kind of document: new (Workday has it, the store does not), changed (both, some field differs; with
the sum of the amount changes) and removed (the store has it, Workday no longer does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sync_engine.domain import CustomerSnapshot

__all__ = ["KINDS", "CustomerDiff", "KindDiff", "diff_customer", "total"]

#: Kinds of documents, in the order they are shown, and the field holding each one's amount.
KINDS: dict[str, str] = {"invoices": "total_amount", "payments": "amount", "credit_notes": "total_amount"}


@dataclass(frozen=True, slots=True)
class KindDiff:
    new: int = 0
    changed: int = 0
    removed: int = 0
    #: Sum over the changed documents of (new amount - stored amount).
    amount_delta: Decimal = Decimal(0)

    @property
    def changes(self) -> int:
        return self.new + self.changed + self.removed

    def __add__(self, other: KindDiff) -> KindDiff:
        return KindDiff(
            self.new + other.new,
            self.changed + other.changed,
            self.removed + other.removed,
            self.amount_delta + other.amount_delta,
        )


@dataclass(frozen=True, slots=True)
class CustomerDiff:
    """One customer's difference; `new_customer` when the store does not hold it yet."""

    customer_wid: str
    label: str
    new_customer: bool
    customer_changed: bool
    kinds: dict[str, KindDiff] = field(default_factory=dict)

    @property
    def changes(self) -> int:
        return sum(kind.changes for kind in self.kinds.values()) + int(self.customer_changed)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for kind in data["kinds"].values():
            kind["amount_delta"] = format(kind["amount_delta"], "f")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CustomerDiff:
        kinds = {
            name: KindDiff(value["new"], value["changed"], value["removed"], Decimal(value["amount_delta"]))
            for name, value in data["kinds"].items()
        }
        return cls(data["customer_wid"], data["label"], data["new_customer"], data["customer_changed"], kinds)


def diff_customer(stored: CustomerSnapshot | None, fetched: CustomerSnapshot) -> CustomerDiff:
    """How the store's `stored` (None: not stored) would change into `fetched`."""
    customer = fetched.customer
    label = customer.customer_id or customer.customer_reference_id or customer.wid
    kinds = {
        name: _diff_kind(getattr(stored, name) if stored else [], getattr(fetched, name), amount)
        for name, amount in KINDS.items()
    }
    return CustomerDiff(
        customer_wid=customer.wid,
        label=label,
        new_customer=stored is None,
        customer_changed=stored is not None and stored.customer != customer,
        kinds=kinds,
    )


def _diff_kind(stored: Sequence[Any], fetched: Sequence[Any], amount: str) -> KindDiff:
    before = {document.wid: document for document in stored}
    after = {document.wid: document for document in fetched}
    changed = [wid for wid in after.keys() & before.keys() if after[wid] != before[wid]]
    delta = sum((getattr(after[wid], amount) - getattr(before[wid], amount) for wid in changed), Decimal(0))
    return KindDiff(
        new=len(after.keys() - before.keys()),
        changed=len(changed),
        removed=len(before.keys() - after.keys()),
        amount_delta=delta,
    )


def total(diffs: Iterable[CustomerDiff]) -> dict[str, KindDiff]:
    """The sum per kind of documents."""
    sums = {name: KindDiff() for name in KINDS}
    for diff in diffs:
        for name, kind in diff.kinds.items():
            sums[name] = sums[name] + kind
    return sums
