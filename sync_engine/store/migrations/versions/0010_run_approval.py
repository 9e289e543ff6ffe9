"""Runs held for a second admin's approval (RESYNC_APPROVAL_ABOVE): who approved or rejected them, and
until when they can be approved. The statuses themselves (pending_approval, rejected, expired) fit
`batch_runs.status` as it is.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

#: `UtcDateTime` (a frozen copy: a revision must not change when models.py does).
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "run_approvals",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("above", sa.Integer(), nullable=False),
        sa.Column("held_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("decided_by", sa.String(255), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_approvals")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["batch_runs.id"], name=op.f("fk_run_approvals_run_id_batch_runs"), ondelete="CASCADE"
        ),
    )
    op.create_index(op.f("ix_run_approvals_expires_at"), "run_approvals", ["expires_at"])


def downgrade() -> None:
    # Runs that were held keep their statuses, which the older release cannot read: end those still
    # waiting (nothing was written for them) and show the decided ones as the older release knows them.
    runs = sa.table("batch_runs", sa.column("status", sa.String(16)))
    op.execute(runs.update().where(runs.c.status == "pending_approval").values(status="cancelled"))
    op.execute(runs.update().where(runs.c.status.in_(["rejected", "expired"])).values(status="cancelled"))
    op.drop_index(op.f("ix_run_approvals_expires_at"), table_name="run_approvals")
    op.drop_table("run_approvals")
