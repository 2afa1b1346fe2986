"""Migration 0015: on PostgreSQL the outbox's MIME is compressed with lz4 (pglz took ~3x the server's
CPU for the same size on the first plan's digests); SQLite stores it as it is. Both read back the
bytes written. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text

from scheduler.store.db import Database
from scheduler.store.migrate import downgrade, upgrade
from scheduler.store.models_outbox import Delivery
from tests.integration.test_catalogue_history import announce_weekly, settings_for


def column_compression(db: Database) -> str:
    """The column's own setting: 'l' lz4, 'p' pglz, '' the server's default."""
    with db.engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT attcompression FROM pg_attribute"
                    " WHERE attrelid = 'deliveries'::regclass AND attname = 'mime'"
                )
            ).scalar_one()
        )


def test_new_mime_is_stored_with_lz4_and_reads_back(db: Database, tmp_path: Path) -> None:
    announce_weekly(db, settings_for(db, tmp_path), send=False)
    with db.transaction() as session:
        [mime] = session.scalars(select(Delivery.mime)).all()
    assert mime.startswith(b"To: ops@acme.example\r\nMessage-ID: <")
    if db.engine.dialect.name != "postgresql":
        return
    assert column_compression(db) == "l"
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT pg_column_compression(mime), length(mime) FROM deliveries")).one()
    assert stored == ("lz4", len(mime))


def test_downgrade_returns_the_column_to_the_default(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        if db.engine.dialect.name == "postgresql":
            assert column_compression(db) == "l"
        downgrade(db_url, "0013")
        if db.engine.dialect.name == "postgresql":
            assert column_compression(db) == ""
        upgrade(db_url)
        if db.engine.dialect.name == "postgresql":
            assert column_compression(db) == "l"
    finally:
        db.dispose()
