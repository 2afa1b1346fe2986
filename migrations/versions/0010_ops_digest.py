"""ops digest of new blackout conflicts: notices to ops (no customer) and which conflicts were reported;
who declared or removed a blackout in the portal (issue 14)

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-02

``notices.customer_id`` becomes nullable (NULL: a notice to the ops address). On PostgreSQL that
is ``ALTER COLUMN ... DROP NOT NULL``. On SQLite a batch rebuild would drop ``notices``, and with
foreign keys on, dropping it deletes every delivery (ON DELETE CASCADE); so the table's stored
definition is edited in place instead, the procedure SQLite documents for removing a NOT NULL
constraint (https://www.sqlite.org/lang_altertable.html, "otheralter"): the rows on disk do not
change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.store.db

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = scheduler.store.db.UTCDateTime
_NOT_NULL = "customer_id INTEGER NOT NULL,"
_NULL = "customer_id INTEGER,"


def _sqlite_edit_notices(old: str, new: str) -> None:
    bind = op.get_bind()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'notices'").scalar_one()
    if old not in sql:
        raise RuntimeError(f"unexpected definition of table notices: {sql}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'notices'", (sql.replace(old, new, 1),)
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_edit_notices(_NOT_NULL, _NULL)
    else:
        op.alter_column("notices", "customer_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "ops_reported_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurrence_id", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("blackout_id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("reported_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blackout_id"],
            ["blackouts.id"],
            name=op.f("fk_ops_reported_conflicts_blackout_id_blackouts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_ops_reported_conflicts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_ops_reported_conflicts_notice_id_notices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_reported_conflicts")),
        sa.UniqueConstraint(
            "occurrence_id", "customer_id", "blackout_id", name=op.f("uq_ops_reported_conflicts_occurrence_id")
        ),
    )
    # Plain ADD COLUMN, never a rebuild (dropping blackouts would cascade into ops_reported_conflicts).
    op.add_column("blackouts", sa.Column("declared_by", sa.String(length=320), nullable=True))
    op.add_column("blackouts", sa.Column("removed_by", sa.String(length=320), nullable=True))
    for column in ("blackout_id", "customer_id", "notice_id"):
        op.create_index(op.f(f"ix_ops_reported_conflicts_{column}"), "ops_reported_conflicts", [column], unique=False)


def downgrade() -> None:
    op.drop_table("ops_reported_conflicts")
    for column in ("removed_by", "declared_by"):
        op.execute(f"ALTER TABLE blackouts DROP COLUMN {column}")
    op.execute("DELETE FROM notices WHERE customer_id IS NULL")  # notices to ops, with their deliveries
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_edit_notices(_NULL, _NOT_NULL)
    else:
        op.alter_column("notices", "customer_id", existing_type=sa.Integer(), nullable=False)
