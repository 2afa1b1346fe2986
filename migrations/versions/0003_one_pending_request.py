"""one pending reschedule request per (occurrence, customer): a partial unique index

Revision ID: 0003
Revises: 0002
Create Date: 2027-01-04

A database written by an older version may already hold several pending requests for one
occurrence and customer (concurrent POSTs raced past the old check). The oldest stays pending (it
is the one ops saw first); the newer ones are rejected with a decision note saying why, so the
index can be created and nothing is silently deleted. The customer is not emailed about them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import scheduler.store.db

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_reschedule_requests_one_pending"
NOTE = "duplicate pending request closed by migration 0003"
PENDING = sa.text("status = 'pending'")

log = logging.getLogger("alembic.runtime.migration")

requests = sa.table(
    "reschedule_requests",
    sa.column("id", sa.Integer()),
    sa.column("occurrence_id", sa.String()),
    sa.column("customer_id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("decided_at", scheduler.store.db.UTCDateTime()),
    sa.column("decision_note", sa.Text()),
)


def upgrade() -> None:
    pending = requests.c.status == "pending"
    oldest = (
        sa.select(sa.func.min(requests.c.id))
        .where(pending)
        .group_by(requests.c.occurrence_id, requests.c.customer_id)
        .scalar_subquery()
    )
    duplicates = sa.and_(pending, requests.c.id.not_in(oldest))
    connection = op.get_bind()
    closed = connection.scalars(sa.select(requests.c.id).where(duplicates).order_by(requests.c.id)).all()
    if closed:
        log.warning("rejected %d duplicate pending reschedule request(s): %s", len(closed), closed)
        connection.execute(
            sa.update(requests)
            .where(requests.c.id.in_(closed))
            .values(status="rejected", decided_at=datetime.now(UTC), decision_note=NOTE)
        )
    op.create_index(
        INDEX,
        "reschedule_requests",
        ["occurrence_id", "customer_id"],
        unique=True,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="reschedule_requests")
