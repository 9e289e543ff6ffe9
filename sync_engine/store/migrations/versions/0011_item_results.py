"""Per-customer results: each item keeps its customer's name (the results file's Name column, as the run
wrote or resolved it), and a run's announcement the link to its results file.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("run_items") as batch:
        batch.add_column(sa.Column("customer_name", sa.Text(), nullable=True))
    with op.batch_alter_table("run_announcements") as batch:
        batch.add_column(sa.Column("results_link", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run_announcements") as batch:
        batch.drop_column("results_link")
    with op.batch_alter_table("run_items") as batch:
        batch.drop_column("customer_name")
