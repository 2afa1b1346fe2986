"""customer portal: sign-in links, sessions, portal settings, who asked for a reschedule

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.store.db

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _contact_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["contact_id"], ["contacts.id"], name=op.f(f"fk_{table}_contact_id_contacts"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", scheduler.store.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", scheduler.store.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", scheduler.store.db.UTCDateTime(), nullable=True),
        _contact_fk("portal_links"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_links_token_hash")),
    )
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_links_contact_id"), ["contact_id"], unique=False)
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", scheduler.store.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", scheduler.store.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", scheduler.store.db.UTCDateTime(), nullable=True),
        _contact_fk("portal_sessions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_sessions_token_hash")),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_sessions_contact_id"), ["contact_id"], unique=False)
    op.create_table(
        "portal_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_portal_settings")),
    )
    op.create_table(
        "reschedule_requesters",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reschedule_requests.id"],
            name=op.f("fk_reschedule_requesters_request_id_reschedule_requests"),
            ondelete="CASCADE",
        ),
        _contact_fk("reschedule_requesters"),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_reschedule_requesters")),
    )
    with op.batch_alter_table("reschedule_requesters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reschedule_requesters_contact_id"), ["contact_id"], unique=False)


def downgrade() -> None:
    op.drop_table("reschedule_requesters")
    op.drop_table("portal_settings")
    op.drop_table("portal_sessions")
    op.drop_table("portal_links")
