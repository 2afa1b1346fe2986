"""window_rules.effective_from: a rule's occurrences begin when it was added

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-10

Existing rules take effect from their ``created_at``: occurrences before it (which earlier
versions invented for every past month) are no longer part of the schedule, unless the rule's
explicit ``valid_from`` imports them as history.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.store.db

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("window_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("effective_from", scheduler.store.db.UTCDateTime(), nullable=True))
    op.execute("UPDATE window_rules SET effective_from = created_at")
    with op.batch_alter_table("window_rules", schema=None) as batch_op:
        batch_op.alter_column("effective_from", existing_type=scheduler.store.db.UTCDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("window_rules", schema=None) as batch_op:
        batch_op.drop_column("effective_from")
