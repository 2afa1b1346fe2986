"""removed freezes are kept: freezes.removed_at (their occurrences come back at a higher SEQUENCE)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.store.db

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a rebuild.
    op.add_column("freezes", sa.Column("removed_at", scheduler.store.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM freezes WHERE removed_at IS NOT NULL")
    op.execute("ALTER TABLE freezes DROP COLUMN removed_at")
