"""The snapshots a preview run fetched, staged (not written) until it is applied or expires."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync_engine.store.models import Base, CustomerRow, StagedSnapshotRow

__all__ = [
    "Staged",
    "drop_expired_staged",
    "drop_staged_of_run",
    "keep_staged",
    "load_staged",
    "stage",
    "staged_of_run",
]

_staged = Base.metadata.tables[StagedSnapshotRow.__tablename__]
_customers = Base.metadata.tables[CustomerRow.__tablename__]
#: Staged snapshots dropped per transaction by `drop_expired_staged`.
DROP_BATCH = 50


@dataclass(frozen=True, slots=True)
class Staged:
    """One staged customer: its diff (JSON), when the store's row it was measured against was written
    (None: not stored), and when the preview expires."""

    customer_wid: str
    diff: dict[str, Any]
    base_synced_at: datetime | None
    staged_at: datetime
    expires_at: datetime
    #: When the store's row was last written now (None: not stored), if read (`staged_of_run`).
    current_synced_at: datetime | None = None

    @property
    def written_since(self) -> bool:
        """Whether a run wrote the customer after the preview measured its diff."""
        return self.current_synced_at != self.base_synced_at


def stage(
    session: Session,
    *,
    run_id: int,
    customer_wid: str,
    snapshot: dict[str, Any],
    diff: dict[str, Any],
    base_synced_at: datetime | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Stage a fetched snapshot for `run_id`; a second staging of the same customer keeps the first."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(_staged)
        .values(
            run_id=run_id,
            customer_wid=customer_wid,
            snapshot=snapshot,
            diff=diff,
            base_synced_at=base_synced_at,
            staged_at=now,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=["run_id", "customer_wid"])
    )


def staged_of_run(session: Session, run_id: int) -> list[Staged]:
    """Every customer the preview staged, by wid, with when the store's row was written now."""
    rows = session.execute(
        select(
            _staged.c.customer_wid,
            _staged.c.diff,
            _staged.c.base_synced_at,
            _staged.c.staged_at,
            _staged.c.expires_at,
            _customers.c.synced_at,
        )
        .select_from(_staged.outerjoin(_customers, _customers.c.wid == _staged.c.customer_wid))
        .where(_staged.c.run_id == run_id)
        .order_by(_staged.c.customer_wid)
    )
    return [Staged(*row) for row in rows]


def load_staged(session: Session, run_id: int, customer_wid: str) -> tuple[Staged, dict[str, Any]] | None:
    """The staged customer and its snapshot (JSON), or None (never staged, or expired and dropped)."""
    row = session.execute(
        select(_staged).where(_staged.c.run_id == run_id, _staged.c.customer_wid == customer_wid)
    ).one_or_none()
    if row is None:
        return None
    staged = Staged(row.customer_wid, row.diff, row.base_synced_at, row.staged_at, row.expires_at)
    return staged, row.snapshot


def drop_expired_staged(session: Session, now: datetime) -> int:
    """Drop up to `DROP_BATCH` staged snapshots that expired before `now`; how many it dropped."""
    ids = list(
        session.scalars(
            select(_staged.c.id).where(_staged.c.expires_at < now).order_by(_staged.c.id).limit(DROP_BATCH)
        )
    )
    if ids:
        session.execute(delete(_staged).where(_staged.c.id.in_(ids)))
    return len(ids)


def keep_staged(session: Session, run_id: int, customer_wids: Sequence[str], *, beyond: datetime) -> None:
    """Keep the snapshots of `customer_wids` that preview `run_id` staged until `beyond` plus the time they
    were given to live (staging to expiry), when that is later than their expiry."""
    rows = session.execute(
        select(_staged.c.id, _staged.c.staged_at, _staged.c.expires_at).where(
            _staged.c.run_id == run_id, _staged.c.customer_wid.in_(list(customer_wids))
        )
    )
    for row_id, staged_at, expires_at in rows.all():
        until = beyond + (expires_at - staged_at)
        if until > expires_at:
            session.execute(update(_staged).where(_staged.c.id == row_id).values(expires_at=until))


def drop_staged_of_run(session: Session, run_id: int) -> None:
    """Drop every snapshot preview `run_id` staged (it was discarded)."""
    session.execute(delete(_staged).where(_staged.c.run_id == run_id))
