"""outbox MIME compressed with lz4 on PostgreSQL (issue 11)

PostgreSQL compresses a large value with pglz unless told otherwise. The first notice plan of
50,000 customers stores ~6 GB of MIME (digests with their .ics): on the 500-customer plan's 59 MB,
pglz took 6.8-8.7 s of the server's CPU where lz4 took 2.4-2.6 s, for the same stored size (35.8 and
36.1 MB). Only values written from now on are compressed with lz4; older rows stay as they are
(both read the same). A server built without lz4 keeps pglz, and so does SQLite (no compression).

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    methods = bind.execute(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar_one_or_none()
    return methods is not None and "lz4" in methods


def upgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE deliveries ALTER COLUMN mime SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE deliveries ALTER COLUMN mime SET COMPRESSION DEFAULT")
