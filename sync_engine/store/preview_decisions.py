"""What was decided about each preview: one row a preview, so the first decision wins in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync_engine.store.models import PreviewDecisionRow

__all__ = ["decide", "decision_of"]


def decide(
    session: Session,
    *,
    preview_run_id: int,
    action: str,
    decided_by: str,
    now: datetime,
    apply_run_id: int | None = None,
) -> None:
    """Record the decision; `IntegrityError` (at the flush) when the preview was decided already."""
    session.add(
        PreviewDecisionRow(
            preview_run_id=preview_run_id,
            action=action,
            decided_by=decided_by,
            decided_at=now,
            apply_run_id=apply_run_id,
        )
    )
    session.flush()


def decision_of(session: Session, preview_run_id: int) -> PreviewDecisionRow | None:
    return session.scalars(
        select(PreviewDecisionRow).where(PreviewDecisionRow.preview_run_id == preview_run_id)
    ).one_or_none()
