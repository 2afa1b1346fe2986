"""overrides (product_id, customer_id) index: a customer's view reads only its own changes (issue 11)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_overrides_product_customer", "overrides", ["product_id", "customer_id"])


def downgrade() -> None:
    op.drop_index("ix_overrides_product_customer", table_name="overrides")
