"""When each Workday tenant's connection was last verified.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

#: `UtcDateTime` (a frozen copy: a revision must not change when models.py does).
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workday_connections",
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("verified_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_workday_connections")),
    )


def downgrade() -> None:
    op.drop_table("workday_connections")
