"""overrides.decision: decisions on one occurrence numbered in commit order, not by a clock

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("overrides", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision", sa.Integer(), nullable=True))
    # Existing decisions keep the order they had (clock, then id): numbered 1, 2, ... per occurrence.
    connection = op.get_bind()
    overrides = sa.table(
        "overrides",
        sa.column("id", sa.Integer()),
        sa.column("product_id", sa.Integer()),
        sa.column("occurrence_id", sa.String()),
        sa.column("created_at", sa.DateTime()),
        sa.column("decision", sa.Integer()),
    )
    rows = connection.execute(
        sa.select(overrides.c.id, overrides.c.product_id, overrides.c.occurrence_id).order_by(
            overrides.c.product_id, overrides.c.occurrence_id, overrides.c.created_at, overrides.c.id
        )
    ).all()
    numbers: dict[tuple[int, str], int] = {}
    for row in rows:
        key = (row.product_id, row.occurrence_id)
        numbers[key] = numbers.get(key, 0) + 1
        connection.execute(sa.update(overrides).where(overrides.c.id == row.id).values(decision=numbers[key]))
    with op.batch_alter_table("overrides", schema=None) as batch_op:
        batch_op.alter_column("decision", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_overrides_product_id"), ["product_id", "occurrence_id", "decision"]
        )


def downgrade() -> None:
    with op.batch_alter_table("overrides", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_overrides_product_id"), type_="unique")
        batch_op.drop_column("decision")
