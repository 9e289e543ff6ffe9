"""Who stopped a run before it finished, and when (an admin's Stop).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batch_runs") as batch:
        batch.add_column(sa.Column("stopped_by", sa.String(255), nullable=True))
        batch.add_column(sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # The code before this revision knows neither status: a stopped run reads as ended in error, its
    # skipped customers as not synced, each saying why.
    op.execute(
        "UPDATE batch_runs SET status = 'error', error = COALESCE(error, "
        "'Stopped by ' || COALESCE(stopped_by, 'an admin') || ' before it finished.') "
        "WHERE status = 'stopped'"
    )
    op.execute(
        "UPDATE run_items SET status = 'failed', error = 'Skipped: its run was stopped.' "
        "WHERE status = 'skipped'"
    )
    with op.batch_alter_table("batch_runs") as batch:
        batch.drop_column("stopped_at")
        batch.drop_column("stopped_by")
