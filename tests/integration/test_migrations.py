"""Migrations and models agree, and upgrade/downgrade work on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from scheduler.db import Database
from scheduler.migrate import downgrade, upgrade
from scheduler.models import Base


def test_migrations_match_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_downgrade_empties(db_url: str) -> None:
    upgrade(db_url)  # already at head: nothing to do, no error
    downgrade(db_url, "base")
    database = Database.open(db_url)
    with database.engine.connect() as conn:
        tables = set(database.engine.dialect.get_table_names(conn))
    database.dispose()
    assert tables <= {"alembic_version"}
    upgrade(db_url)
