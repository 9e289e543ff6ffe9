"""Run kinds (sync, preview, apply, restore), the previous copies that overwrites keep, and the snapshots
previews stage.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

# Frozen copies of the model types: a revision must not change when models.py does.
MONEY = sa.Numeric().with_variant(sa.String(40), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
DOCUMENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _kept_document_columns(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", DOCUMENT_ID, nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.Column("wid", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["previous_copies.id"],
            name=op.f(f"fk_{table}_copy_id_previous_copies"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    with op.batch_alter_table("batch_runs") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="sync"))
        batch.add_column(sa.Column("source_run_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("force", sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        "previous_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("customer_wid", sa.String(32), nullable=False),
        sa.Column("existed", sa.Boolean(), nullable=False),
        sa.Column("saved_at", TIMESTAMP, nullable=False),
        sa.Column("keep_until", TIMESTAMP, nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=True),
        sa.Column("customer_reference_id", sa.String(255), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("status", sa.String(64), nullable=True),
        sa.Column("total_balance", MONEY, nullable=True),
        sa.Column("payer_wid", sa.String(32), nullable=True),
        sa.Column("snapshot_at", TIMESTAMP, nullable=True),
        sa.Column("synced_by_run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_previous_copies")),
        sa.UniqueConstraint("run_id", "customer_wid", name=op.f("uq_previous_copies_run_id_customer_wid")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["batch_runs.id"],
            name=op.f("fk_previous_copies_run_id_batch_runs"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_previous_copies_keep_until"), "previous_copies", ["keep_until"])

    op.create_table(
        "previous_invoices",
        *_kept_document_columns("previous_invoices"),
        sa.Column("invoice_number", sa.String(255), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("total_amount", MONEY, nullable=False),
        sa.Column("tax_amount", MONEY, nullable=True),
        sa.Column("due_amount", MONEY, nullable=True),
        sa.Column("invoice_status", sa.String(64), nullable=True),
        sa.Column("payment_status", sa.String(64), nullable=True),
    )
    op.create_table(
        "previous_credit_notes",
        *_kept_document_columns("previous_credit_notes"),
        sa.Column("credit_note_number", sa.String(255), nullable=False),
        sa.Column("credit_note_date", sa.Date(), nullable=True),
        sa.Column("total_amount", MONEY, nullable=False),
        sa.Column("due_amount", MONEY, nullable=True),
        sa.Column("invoice_status", sa.String(64), nullable=True),
        sa.Column("payment_status", sa.String(64), nullable=True),
        sa.Column("related_invoice_wid", sa.String(32), nullable=True),
    )
    op.create_table(
        "previous_payments",
        *_kept_document_columns("previous_payments"),
        sa.Column("payment_reference_id", sa.String(255), nullable=True),
        sa.Column("payment_number", sa.String(255), nullable=True),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("payment_status", sa.String(64), nullable=True),
        sa.Column("check_number", sa.String(255), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
    )
    for table in ("previous_invoices", "previous_credit_notes", "previous_payments"):
        op.create_index(op.f(f"ix_{table}_copy_id"), table, ["copy_id"])

    op.create_table(
        "staged_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("customer_wid", sa.String(32), nullable=False),
        sa.Column("staged_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        sa.Column("base_synced_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staged_snapshots")),
        sa.UniqueConstraint("run_id", "customer_wid", name=op.f("uq_staged_snapshots_run_id_customer_wid")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["batch_runs.id"],
            name=op.f("fk_staged_snapshots_run_id_batch_runs"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_staged_snapshots_expires_at"), "staged_snapshots", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_staged_snapshots_expires_at"), table_name="staged_snapshots")
    op.drop_table("staged_snapshots")
    for table in ("previous_invoices", "previous_credit_notes", "previous_payments"):
        op.drop_index(op.f(f"ix_{table}_copy_id"), table_name=table)
        op.drop_table(table)
    op.drop_index(op.f("ix_previous_copies_keep_until"), table_name="previous_copies")
    op.drop_table("previous_copies")
    with op.batch_alter_table("batch_runs") as batch:
        batch.drop_column("force")
        batch.drop_column("source_run_id")
        batch.drop_column("kind")
