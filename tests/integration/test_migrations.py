"""Migrations and models agree, and upgrade/downgrade work on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from scheduler.store.db import Database
from scheduler.store.migrate import downgrade, upgrade
from scheduler.store.models import WindowRule
from scheduler.store.tables import metadata


def test_migrations_match_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
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


def test_0004_existing_rules_take_effect_when_they_were_created(db_url: str) -> None:
    downgrade(db_url, "0002")
    database = Database.open(db_url)
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO products (id, key, name, notice_days, public, reschedule_cutoff_hours,"
                " reschedule_max_shift_days, created_at, updated_at)"
                " VALUES (1, 'pe', 'Premier', 30, false, 72, 14, '2026-05-01 08:00:00', '2026-05-01 08:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO window_rules (id, product_id, name, kind, timezone, days, start_time, end_time,"
                " created_at, updated_at)"
                " VALUES (1, 1, 'w1', 'weekly', 'UTC', 'tue', '00:00', '06:00',"
                " '2026-05-02 09:30:00', '2026-06-01 00:00:00')"
            )
        )
    database.dispose()
    upgrade(db_url)
    database = Database.open(db_url)
    with database.transaction() as session:
        row = session.get(WindowRule, 1)
        assert row is not None
        assert (row.effective_from, row.created_at) == (datetime(2026, 5, 2, 9, 30, tzinfo=UTC),) * 2
    database.dispose()
