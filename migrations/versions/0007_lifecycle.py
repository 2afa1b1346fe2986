"""lifecycle notices and channels: reminders and opt-in per customer, endpoints, delivery channels

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

``deliveries.contact_id`` becomes nullable (an endpoint's delivery has no email contact), which
rebuilds the table on SQLite. Dropping the old table with foreign keys on would cascade into
``delivery_occurrences`` and ``delivery_attempts``: foreign keys are switched off around the
rebuild, and where SQLite cannot do that (inside a transaction already writing), the rows that
refer to deliveries are saved first and put back after.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import scheduler.store.db

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEPENDENTS = ("delivery_occurrences", "delivery_attempts")


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("events", sa.Text(), nullable=True),
        sa.Column("created_at", scheduler.store.db.UTCDateTime(), nullable=False),
        sa.Column("removed_at", scheduler.store.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_endpoints_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoints")),
    )
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_endpoints_customer_id"), ["customer_id"], unique=False)
    # Plain ALTER TABLE, never a rebuild: dropping the old customers table would cascade everywhere.
    op.add_column("customers", sa.Column("reminders", sa.Text(), nullable=True))
    op.add_column(
        "customers", sa.Column("lifecycle_notices", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.add_column("products", sa.Column("notice_channels", sa.Text(), nullable=True))
    _rebuild_deliveries(_add_channels)


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE contact_id IS NULL")
    _rebuild_deliveries(_drop_channels)
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), never a rebuild that would cascade.
    op.execute("ALTER TABLE products DROP COLUMN notice_channels")
    for column in ("lifecycle_notices", "reminders"):
        op.execute(f"ALTER TABLE customers DROP COLUMN {column}")
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_endpoints_customer_id"))
    op.drop_table("endpoints")


def _add_channels(batch_op: Any) -> None:
    batch_op.add_column(sa.Column("channel", sa.String(length=16), server_default="email", nullable=False))
    batch_op.add_column(sa.Column("endpoint_id", sa.Integer(), nullable=True))
    batch_op.add_column(sa.Column("event", sa.String(length=40), nullable=True))
    batch_op.add_column(sa.Column("due_key", sa.String(length=400), nullable=True))
    batch_op.alter_column("contact_id", existing_type=sa.Integer(), nullable=True)
    batch_op.create_index(batch_op.f("ix_deliveries_endpoint_id"), ["endpoint_id"], unique=False)
    batch_op.create_unique_constraint(batch_op.f("uq_deliveries_due_key"), ["due_key"])
    batch_op.create_foreign_key(
        batch_op.f("fk_deliveries_endpoint_id_endpoints"), "endpoints", ["endpoint_id"], ["id"], ondelete="CASCADE"
    )


def _drop_channels(batch_op: Any) -> None:
    batch_op.drop_constraint(batch_op.f("fk_deliveries_endpoint_id_endpoints"), type_="foreignkey")
    batch_op.drop_constraint(batch_op.f("uq_deliveries_due_key"), type_="unique")
    batch_op.drop_index(batch_op.f("ix_deliveries_endpoint_id"))
    batch_op.alter_column("contact_id", existing_type=sa.Integer(), nullable=False)
    batch_op.drop_column("due_key")
    batch_op.drop_column("event")
    batch_op.drop_column("endpoint_id")
    batch_op.drop_column("channel")


def _rebuild_deliveries(change: Any) -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        with op.batch_alter_table("deliveries", schema=None) as batch_op:
            change(batch_op)
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    still_on = bool(connection.exec_driver_sql("PRAGMA foreign_keys").scalar())
    saved: dict[str, list[dict[str, Any]]] = {}
    if still_on:  # inside a transaction: the pragma is ignored, keep the dependent rows by hand
        meta = sa.MetaData()
        for name in _DEPENDENTS:
            table = sa.Table(name, meta, autoload_with=connection)
            saved[name] = [dict(row._mapping) for row in connection.execute(sa.select(table))]
    with op.batch_alter_table("deliveries", schema=None, recreate="always") as batch_op:
        change(batch_op)
    for name, rows in saved.items():
        table = sa.Table(name, sa.MetaData(), autoload_with=connection)
        present = {row[0] for row in connection.execute(sa.select(table.c.id))}
        missing = [row for row in rows if row["id"] not in present]
        if missing:
            connection.execute(sa.insert(table), missing)
    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
