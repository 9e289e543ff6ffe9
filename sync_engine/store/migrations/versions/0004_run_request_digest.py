"""A run remembers the request that stored it (a digest, unique), so a repeated request stores nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batch_runs") as batch:
        batch.add_column(sa.Column("request_digest", sa.String(64), nullable=True))
        batch.create_unique_constraint(op.f("uq_batch_runs_request_digest"), ["request_digest"])


def downgrade() -> None:
    with op.batch_alter_table("batch_runs") as batch:
        batch.drop_constraint(op.f("uq_batch_runs_request_digest"), type_="unique")
        batch.drop_column("request_digest")
