"""Migration 0016: what a delivery covered has no foreign key from its ``customer_id`` (it checked
every row a plan writes); the rows still go with their customer, through its notices' deliveries.
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, func, inspect, select

from scheduler.store.db import Database
from scheduler.store.migrate import downgrade, upgrade
from scheduler.store.models import Customer
from scheduler.store.models_outbox import Delivery, DeliveryOccurrence, Notice
from tests.integration.test_catalogue_history import announce_weekly, settings_for


def covers_foreign_keys(db: Database) -> list[tuple[str, str]]:
    with db.engine.connect() as conn:
        keys = inspect(conn).get_foreign_keys("delivery_occurrences")
    return sorted((key["constrained_columns"][0], key["referred_table"]) for key in keys)


def counts(db: Database) -> tuple[int, int, int]:
    with db.transaction() as session:
        return (
            int(session.scalar(select(func.count()).select_from(Notice)) or 0),
            int(session.scalar(select(func.count()).select_from(Delivery)) or 0),
            int(session.scalar(select(func.count()).select_from(DeliveryOccurrence)) or 0),
        )


def test_a_customers_covered_rows_go_with_it(db: Database, tmp_path: Path) -> None:
    assert covers_foreign_keys(db) == [("delivery_id", "deliveries")]
    announce_weekly(db, settings_for(db, tmp_path), send=False)
    assert counts(db) == (1, 1, 1)
    with db.transaction() as session:
        session.execute(delete(Customer))
    assert counts(db) == (0, 0, 0)


def test_downgrade_puts_the_foreign_key_back(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        downgrade(db_url, "0015")
        assert covers_foreign_keys(db) == [("customer_id", "customers"), ("delivery_id", "deliveries")]
        upgrade(db_url)
        assert covers_foreign_keys(db) == [("delivery_id", "deliveries")]
    finally:
        db.dispose()
