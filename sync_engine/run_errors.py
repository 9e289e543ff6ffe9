"""The errors a run or a customer ends with, worded for the admins who read them (Slack, the CLI).

The store writes them into `batch_runs.error` and `run_items.error`; the jobs choose which applies.
"""

from __future__ import annotations

from collections.abc import Sequence

from sync_engine.errors import WorkdayTransientError

__all__ = [
    "NOTHING_RESOLVED",
    "NOT_FOUND_ON_WORKDAY",
    "START_ATTEMPTS_EXHAUSTED",
    "attempts_unfinished",
    "describe_failure",
    "failure_message",
    "fatal_message",
]

#: The run's error when not one identifier resolved (exact text the admins see).
NOTHING_RESOLVED = (
    "None of the customers could be resolved on Workday. Please verify the identifiers are correct."
)
#: An unresolved item's error.
NOT_FOUND_ON_WORKDAY = "Not found on Workday"
#: The run's error when resolving its identifiers never finished (`{n}`: the attempts allowed).
START_ATTEMPTS_EXHAUSTED = (
    "The run's start was attempted {n} times without finishing (the worker resolving its identifiers "
    "with Workday stopped or failed each time), so it was stopped. Check the workers' logs, then run it "
    "again."
)
#: Longest error text kept per customer in the run's error (the item keeps the full text).
_ITEM_ERROR_IN_SUMMARY = 300


def failure_message(failed: Sequence[tuple[str, str]], *, synced: int, resolved: int) -> str:
    """The error of a run that finished with customers not synced (`failed`: identifier, error)."""
    details = "; ".join(f"{identifier}: {_clip(error)}" for identifier, error in failed)
    return (
        f"{len(failed)} of {resolved} customers could not be synced "
        f"({synced} synced and kept). Not synced: {details}"
    )


def fatal_message(error: str, not_synced: Sequence[str], *, synced: int, resolved: int) -> str:
    """The error of a run stopped by `error`, which would have failed every customer left."""
    return (
        f"{error} The run stopped: {synced} of {resolved} customers synced and kept; "
        f"not synced: {', '.join(not_synced) or 'none'}."
    )


def attempts_unfinished(attempts: int) -> str:
    """A customer's error when its earlier attempts never came back (killed worker, time limit)."""
    return f"Not synced after {attempts} attempts that did not finish."


def describe_failure(error: Exception) -> str:
    """A customer's (or a run's start's) error after its last attempt failed with `error`."""
    if isinstance(error, WorkdayTransientError):
        return f"Workday did not answer in time after several attempts: {error}"
    return f"Unexpected error while syncing ({type(error).__name__}): {error}"


def _clip(text: str) -> str:
    return text if len(text) <= _ITEM_ERROR_IN_SUMMARY else text[: _ITEM_ERROR_IN_SUMMARY - 1] + "…"
