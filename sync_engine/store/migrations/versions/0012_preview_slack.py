"""What was decided about each preview (applied as a run, or discarded), by whom and when: one decision a
preview, so a double click or a redelivered click decides once.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

# Frozen copies of the model types: a revision must not change when models.py does.
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "preview_decisions",
        sa.Column("preview_run_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(255), nullable=False),
        sa.Column("decided_at", TIMESTAMP, nullable=False),
        sa.Column("apply_run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("preview_run_id", name=op.f("pk_preview_decisions")),
        sa.ForeignKeyConstraint(
            ["preview_run_id"],
            ["batch_runs.id"],
            name=op.f("fk_preview_decisions_preview_run_id_batch_runs"),
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("preview_decisions")
