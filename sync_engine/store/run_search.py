"""Finding runs in history by what an admin remembers of them: words of the reason, an identifier (or the
Workday ID it resolved to), or who asked.

One query in SQL, the same on SQLite and PostgreSQL: a case-insensitive `LIKE '%text%'` whose wildcards
in the text are escaped (`autoescape`), so `%` and `_` match themselves. SQLite folds the case of ASCII
letters only (it has no Unicode case tables); PostgreSQL folds every letter.
"""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from sync_engine.domain import RunStatus
from sync_engine.store.models import BatchRunRow, RunItemRow

__all__ = ["MAX_SEARCH_LENGTH", "matching_runs"]

#: Characters of a search: no reason, identifier or requester is longer.
MAX_SEARCH_LENGTH = 500


def matching_runs(session: Session, text: str, *, limit: int, offset: int = 0) -> list[int]:
    """Ids of confirmed runs (not drafts) whose reason, requester, an identifier or an identifier's
    Workday ID contains `text`, whatever its case; most recent first, like history."""
    item_matches = exists().where(
        RunItemRow.run_id == BatchRunRow.id,
        or_(
            RunItemRow.identifier.icontains(text, autoescape=True),
            RunItemRow.customer_wid.icontains(text, autoescape=True),
        ),
    )
    query = (
        select(BatchRunRow.id)
        .where(
            BatchRunRow.status.not_in([RunStatus.DRAFT.value, RunStatus.CANCELLED.value]),
            or_(
                BatchRunRow.reason.icontains(text, autoescape=True),
                BatchRunRow.requested_by.icontains(text, autoescape=True),
                item_matches,
            ),
        )
        .order_by(BatchRunRow.created_at.desc(), BatchRunRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query))
