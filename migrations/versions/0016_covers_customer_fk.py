"""what a delivery covered: no foreign key from its customer_id (issue 11)

``delivery_occurrences.customer_id`` repeats the customer of the delivery's notice, so that the
compliance report finds a customer's rows on the unique key's index. Its foreign key to
``customers`` checked every row a plan writes (a trigger per row on PostgreSQL): 4.7 of the 11.5 s
the 5,000-customer first plan spent storing its 355,500 rows. It cascaded nothing of its own: a
customer's rows already go with its notices, their deliveries and these (``delivery_id``'s
foreign key, kept).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_occurrences", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_delivery_occurrences_customer_id_customers"), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("delivery_occurrences", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_delivery_occurrences_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )
