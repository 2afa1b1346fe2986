"""blackouts, freezes, conflict resolutions; products' blackout policy (issue 14)

Revision ID: 0006
Revises: 0009
Create Date: 2026-12-02

The product columns are added with plain ``ADD COLUMN`` (server defaults fill existing rows), not
a batch rebuild: rebuilding ``products`` on SQLite would drop and re-create a table every other
table refers to.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.store.db

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = scheduler.store.db.UTCDateTime


def upgrade() -> None:
    op.add_column("products", sa.Column("on_blackout", sa.String(length=8), server_default="skip", nullable=False))
    op.add_column("products", sa.Column("blackout_lead_days", sa.Integer(), server_default="30", nullable=False))
    op.add_column(
        "products",
        sa.Column("blackout_overridden_counts_as", sa.String(length=16), server_default="downtime", nullable=False),
    )
    op.create_table(
        "blackouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("local_start", sa.String(length=19), nullable=True),
        sa.Column("local_end", sa.String(length=19), nullable=True),
        sa.Column("spec", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("decided_at", _UTC(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_blackouts_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blackouts")),
    )
    op.create_index(op.f("ix_blackouts_customer_id"), "blackouts", ["customer_id"], unique=False)
    op.create_table(
        "freezes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("start", _UTC(), nullable=False),
        sa.Column("end", _UTC(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_freezes_product_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_freezes")),
    )
    op.create_index(op.f("ix_freezes_product_id"), "freezes", ["product_id"], unique=False)
    op.create_table(
        "conflict_resolutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_id", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_conflict_resolutions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_conflict_resolutions_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflict_resolutions")),
        sa.UniqueConstraint("occurrence_id", "customer_id", name=op.f("uq_conflict_resolutions_occurrence_id")),
    )
    op.create_index(op.f("ix_conflict_resolutions_customer_id"), "conflict_resolutions", ["customer_id"], unique=False)
    op.create_index(op.f("ix_conflict_resolutions_product_id"), "conflict_resolutions", ["product_id"], unique=False)


def downgrade() -> None:
    op.drop_table("conflict_resolutions")
    op.drop_table("freezes")
    op.drop_table("blackouts")
    op.drop_column("products", "blackout_overridden_counts_as")
    op.drop_column("products", "blackout_lead_days")
    op.drop_column("products", "on_blackout")
