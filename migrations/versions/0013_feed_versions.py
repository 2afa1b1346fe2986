"""feed versions: the data version at which each product's and customer's feeds last changed (issue 11)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.store.db

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_versions",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", scheduler.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "ref", name=op.f("pk_feed_versions")),
    )
    with op.batch_alter_table("feed_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_versions_version"), ["version"], unique=False)
    # Every feed as of now: the changes before this revision named no feed.
    op.execute(
        "INSERT INTO feed_versions (kind, ref, version, changed_at) "
        "SELECT 'all', 0, version, changed_at FROM data_version WHERE id = 1"
    )


def downgrade() -> None:
    with op.batch_alter_table("feed_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_versions_version"))
    op.drop_table("feed_versions")
