"""A run's announcement (the Slack status message) in typed tables of its own instead of string-keyed
notes (`batch_runs.extra`): the notes of runs already announced move over, so an upgraded deployment
keeps updating their messages and never repeats what they already did; then the notes column goes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

# Revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

#: `UtcDateTime` (a frozen copy: a revision must not change when models.py does).
TIMESTAMP = sa.DateTime(timezone=True)
#: The once-only steps the Slack status kept as claims `name#N` (N: the claim's attempt).
STEPS = ("status_message", "records_file", "error_reply")

_runs = sa.table(
    "batch_runs",
    sa.column("id", sa.Integer()),
    sa.column("finished_at", TIMESTAMP),
    sa.column("extra", sa.JSON()),
)
_announcements = sa.table(
    "run_announcements",
    sa.column("run_id", sa.Integer()),
    sa.column("link", sa.Text()),
    sa.column("records_link", sa.Text()),
    sa.column("final_digest", sa.String(64)),
    sa.column("final_shown_at", TIMESTAMP),
)
_steps = sa.table(
    "run_announcement_steps",
    sa.column("run_id", sa.Integer()),
    sa.column("step", sa.String(32)),
    sa.column("attempt", sa.Integer()),
    sa.column("owner", sa.String(64)),
    sa.column("claimed_at", TIMESTAMP),
    sa.column("done_at", TIMESTAMP),
)


def upgrade() -> None:
    op.create_table(
        "run_announcements",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("records_link", sa.Text(), nullable=True),
        sa.Column("final_digest", sa.String(64), nullable=True),
        sa.Column("final_shown_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["batch_runs.id"],
            name=op.f("fk_run_announcements_run_id_batch_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_announcements")),
    )
    op.create_table(
        "run_announcement_steps",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("claimed_at", TIMESTAMP, nullable=False),
        sa.Column("done_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["batch_runs.id"],
            name=op.f("fk_run_announcement_steps_run_id_batch_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "step", name=op.f("pk_run_announcement_steps")),
    )
    connection = op.get_bind()
    moved = datetime.now(UTC)
    for run_id, finished_at, notes in connection.execute(
        sa.select(_runs.c.id, _runs.c.finished_at, _runs.c.extra)
    ):
        if not notes:
            continue
        link, records_link, final = (
            notes.get("permalink"),
            notes.get("records_permalink"),
            notes.get("final_shown"),
        )
        if link or records_link or final:
            connection.execute(
                _announcements.insert().values(
                    run_id=run_id,
                    link=link,
                    records_link=records_link,
                    final_digest=final,
                    final_shown_at=(finished_at or moved) if final else None,
                )
            )
        for step, attempt, claim in _latest_claims(notes):
            at = _time(claim.get("at"), moved)
            connection.execute(
                _steps.insert().values(
                    run_id=run_id,
                    step=step,
                    attempt=attempt,
                    owner=str(claim.get("token") or "before-0006")[:64],
                    claimed_at=at,
                    done_at=at if claim.get("done") else None,
                )
            )
    with op.batch_alter_table("batch_runs") as batch:
        batch.drop_column("extra")


def downgrade() -> None:
    # The default stays: dropping it would copy the table on SQLite, and a copy made with foreign keys
    # enforced (Alembic run by hand) would cascade-delete every run's items.
    with op.batch_alter_table("batch_runs") as batch:
        batch.add_column(sa.Column("extra", sa.JSON(), nullable=False, server_default="{}"))
    connection = op.get_bind()
    notes: dict[int, dict[str, Any]] = {}
    for row in connection.execute(sa.select(_announcements)):
        kept = {"permalink": row.link, "records_permalink": row.records_link, "final_shown": row.final_digest}
        notes.setdefault(row.run_id, {}).update({key: value for key, value in kept.items() if value})
    for row in connection.execute(sa.select(_steps)):
        claimed_at = row.claimed_at if row.claimed_at.tzinfo else row.claimed_at.replace(tzinfo=UTC)
        claim: dict[str, Any] = {"token": row.owner, "at": claimed_at.timestamp()}
        if row.done_at is not None:
            claim["done"] = True
        notes.setdefault(row.run_id, {})[f"{row.step}#{row.attempt}"] = claim
    for run_id, values in notes.items():
        connection.execute(sa.update(_runs).where(_runs.c.id == run_id).values(extra=values))
    op.drop_table("run_announcement_steps")
    op.drop_table("run_announcements")


def _latest_claims(notes: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Per step, its newest claim `step#N` (the one that counts): (step, N, claim)."""
    for step in STEPS:
        attempts = [
            (int(number), value)
            for key, value in notes.items()
            for name, _, number in [key.rpartition("#")]
            if name == step and number.isdigit() and isinstance(value, dict)
        ]
        if attempts:
            attempt, claim = max(attempts, key=lambda pair: pair[0])
            yield step, attempt, claim


def _time(value: object, default: datetime) -> datetime:
    """A claim's `at` (epoch seconds, as the Slack status wrote it), or `default`."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return default
