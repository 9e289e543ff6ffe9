"""The one way the store runs a conditional UPDATE: did its condition hold?

Each state change is an UPDATE whose WHERE states the state it leaves (`WHERE status = 'draft'`...), so
of two callers (Dramatiq delivers at least once) only the first changes a row; the row count says which.
"""

from __future__ import annotations

from sqlalchemy import CursorResult, Update
from sqlalchemy.orm import Session

__all__ = ["updated"]


def updated(session: Session, statement: Update) -> bool:
    """Execute `statement`; True if it changed at least one row."""
    result = session.execute(statement)
    # An UPDATE without RETURNING always gives a cursor result; the check narrows the type for mypy.
    if not isinstance(result, CursorResult):
        raise TypeError(f"An UPDATE returned {type(result).__name__}, not a cursor result")
    return result.rowcount > 0
