"""A run's per-customer results: one record per identifier, and the CSV admins download (pure).

The CSV is RFC 4180 (the csv module quotes commas, quotes and line breaks), so every identifier and name
reads back as it was, with one exception: a text cell starting with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading apostrophe, so that a spreadsheet shows it as text instead of running it
as a formula (CSV injection: an identifier or a Workday name is anyone's text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from sync_engine.domain import ItemStatus, RunKind

__all__ = ["CSV_HEADER", "CustomerResult", "outcome_of", "results_csv"]

#: The CSV's columns, in order.
CSV_HEADER = (
    "Identifier",
    "Workday ID",
    "Customer name",
    "Outcome",
    "Invoices",
    "Payments",
    "Credit notes",
    "Error",
)

#: How a customer the run got through reads, by what the run does to it.
_DONE = {
    RunKind.SYNC: "synced",
    RunKind.PREVIEW: "previewed",
    RunKind.APPLY: "applied",
    RunKind.RESTORE: "restored",
}

#: The outcome of each item status other than done: the one place to add a status.
_OUTCOMES = {
    ItemStatus.PENDING.value: "pending",
    ItemStatus.UNRESOLVED.value: "unresolved",
    ItemStatus.FAILED.value: "failed",
    ItemStatus.SKIPPED.value: "skipped",
}

#: First characters a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class CustomerResult:
    """What a run did for one identifier."""

    #: As the admin typed it (after the form's clean-up: trimmed, duplicates dropped).
    identifier: str
    #: The customer's Workday ID; None when Workday did not know the identifier.
    workday_id: str | None
    #: As the run wrote it (or, for a customer not written, as Workday resolved it); None if unknown.
    name: str | None
    #: synced (previewed, applied or restored, by run kind), unresolved, failed, pending (run unfinished)…
    outcome: str
    #: Documents written for the customer (fetched and staged, for a preview); 0 unless done.
    invoices: int
    payments: int
    credit_notes: int
    #: Why the customer was not done (never secrets: the same text the run's error shows).
    error: str | None


def outcome_of(status: str, kind: RunKind) -> str:
    """The outcome word of an item status in a run of `kind`; a status unknown here reads as itself."""
    if status == ItemStatus.SYNCED.value:
        return _DONE[kind]
    return _OUTCOMES.get(status, status)


def results_csv(results: Sequence[CustomerResult]) -> str:
    """The results as CSV text: a header row, then one row per identifier, in paste order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for result in results:
        writer.writerow(
            [
                _text_cell(result.identifier),
                _text_cell(result.workday_id or ""),
                _text_cell(result.name or ""),
                result.outcome,
                result.invoices,
                result.payments,
                result.credit_notes,
                _text_cell(result.error or ""),
            ]
        )
    return buffer.getvalue()


def _text_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
