"""When each Workday tenant's connection was last verified (`workday_connections`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync_engine.store.models import WorkdayConnectionRow

__all__ = ["last_verified", "record_verified"]


def record_verified(session: Session, tenant: str, at: datetime) -> None:
    """Remember a successful check; a later time is never replaced by an earlier one (racing processes)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(WorkdayConnectionRow).values(tenant=tenant, verified_at=at)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant"],
            set_={"verified_at": statement.excluded.verified_at},
            where=WorkdayConnectionRow.verified_at < statement.excluded.verified_at,
        )
    )


def last_verified(session: Session, tenant: str) -> datetime | None:
    return session.scalar(
        select(WorkdayConnectionRow.verified_at).where(WorkdayConnectionRow.tenant == tenant)
    )
