"""Initial schema: customers and their documents, batch runs and their items.

Revision ID: 0001
Revises:
Create Date: 2025-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

# Frozen copies of the model types: a revision must not change when models.py does.
#: `Money`: exact NUMERIC on PostgreSQL, text on SQLite (whose NUMERIC is a float).
MONEY = sa.Numeric().with_variant(sa.String(40), "sqlite")
#: `UtcDateTime`.
TIMESTAMP = sa.DateTime(timezone=True)
#: Document ids: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
DOCUMENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _document_columns(table: str) -> list[sa.schema.SchemaItem]:
    """Columns and constraints every document table shares."""
    return [
        sa.Column("id", DOCUMENT_ID, nullable=False),
        sa.Column("wid", sa.String(32), nullable=False),
        sa.Column("customer_pk", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("synced_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("wid", name=op.f(f"uq_{table}_wid")),
        sa.ForeignKeyConstraint(
            ["customer_pk"],
            ["customers.id"],
            name=op.f(f"fk_{table}_customer_pk_customers"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wid", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=True),
        sa.Column("customer_reference_id", sa.String(255), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("status", sa.String(64), nullable=True),
        sa.Column("total_balance", MONEY, nullable=True),
        sa.Column("snapshot_at", TIMESTAMP, nullable=False),
        sa.Column("synced_at", TIMESTAMP, nullable=False),
        sa.Column("synced_by_run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("wid", name=op.f("uq_customers_wid")),
    )
    op.create_index(op.f("ix_customers_customer_id"), "customers", ["customer_id"])
    op.create_index(op.f("ix_customers_customer_reference_id"), "customers", ["customer_reference_id"])

    op.create_table(
        "invoices",
        *_document_columns("invoices"),
        sa.Column("invoice_number", sa.String(255), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("total_amount", MONEY, nullable=False),
        sa.Column("tax_amount", MONEY, nullable=True),
        sa.Column("due_amount", MONEY, nullable=True),
        sa.Column("invoice_status", sa.String(64), nullable=True),
        sa.Column("payment_status", sa.String(64), nullable=True),
    )
    op.create_index(op.f("ix_invoices_customer_pk"), "invoices", ["customer_pk"])
    op.create_index(op.f("ix_invoices_invoice_number"), "invoices", ["invoice_number"])

    op.create_table(
        "credit_notes",
        *_document_columns("credit_notes"),
        sa.Column("credit_note_number", sa.String(255), nullable=False),
        sa.Column("credit_note_date", sa.Date(), nullable=True),
        sa.Column("total_amount", MONEY, nullable=False),
        sa.Column("due_amount", MONEY, nullable=True),
        sa.Column("invoice_status", sa.String(64), nullable=True),
        sa.Column("payment_status", sa.String(64), nullable=True),
        sa.Column("related_invoice_wid", sa.String(32), nullable=True),
    )
    op.create_index(op.f("ix_credit_notes_customer_pk"), "credit_notes", ["customer_pk"])
    op.create_index(op.f("ix_credit_notes_credit_note_number"), "credit_notes", ["credit_note_number"])

    op.create_table(
        "payments",
        *_document_columns("payments"),
        sa.Column("payment_reference_id", sa.String(255), nullable=True),
        sa.Column("payment_number", sa.String(255), nullable=True),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("payment_status", sa.String(64), nullable=True),
        sa.Column("check_number", sa.String(255), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
    )
    op.create_index(op.f("ix_payments_customer_pk"), "payments", ["customer_pk"])
    op.create_index(op.f("ix_payments_payment_reference_id"), "payments", ["payment_reference_id"])

    op.create_table(
        "batch_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("identifier_type", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("confirmed_at", TIMESTAMP, nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("slack_channel", sa.String(32), nullable=True),
        sa.Column("slack_message_ts", sa.String(32), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_runs")),
    )
    op.create_index(op.f("ix_batch_runs_status"), "batch_runs", ["status"])
    op.create_index(op.f("ix_batch_runs_created_at"), "batch_runs", ["created_at"])

    op.create_table(
        "run_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(255), nullable=False),
        sa.Column("customer_wid", sa.String(32), nullable=True),
        sa.Column("resolved_customer", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("invoices", sa.Integer(), nullable=False),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("credit_notes", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.Column("enqueued_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_items")),
        sa.UniqueConstraint("run_id", "position", name=op.f("uq_run_items_run_id_position")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["batch_runs.id"], name=op.f("fk_run_items_run_id_batch_runs"), ondelete="CASCADE"
        ),
    )
    op.create_index("ix_run_items_run_status", "run_items", ["run_id", "status"])


def downgrade() -> None:
    for table in ("run_items", "batch_runs", "payments", "credit_notes", "invoices", "customers"):
        op.drop_table(table)
