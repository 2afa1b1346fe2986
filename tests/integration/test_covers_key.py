"""Migration 0017: the unique key of what deliveries covered leads with the customer, then the product
(a product's SLA report reads that product's rows alone), and on PostgreSQL carries ``method`` and
``delivery_id`` (the reports read the index alone). It still refuses a second digest row of one
occurrence at the same times to one address; a downgrade restores the old key with the rows kept.
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from scheduler.store.db import Database
from scheduler.store.migrate import downgrade, upgrade
from scheduler.store.models_outbox import DeliveryOccurrence
from tests.integration.test_catalogue_history import announce_weekly, settings_for

NEW_KEY = ["customer_id", "product_key", "occurrence_id", "start", "end", "announced_to"]
OLD_KEY = ["customer_id", "occurrence_id", "start", "end", "announced_to"]


def covers_keys(db: Database) -> list[list[str]]:
    with db.engine.connect() as conn:
        return [c["column_names"] for c in inspect(conn).get_unique_constraints("delivery_occurrences")]


def covers_rows(db: Database) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(DeliveryOccurrence)) or 0)


def test_the_key_leads_with_customer_and_product_and_still_refuses_a_second_announcement(
    db: Database, tmp_path: Path
) -> None:
    assert covers_keys(db) == [NEW_KEY]
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            definition = conn.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_delivery_occurrences_customer_id'")
            )
        assert definition is not None and definition.endswith(
            '(customer_id, product_key, occurrence_id, start, "end", announced_to) INCLUDE (method, delivery_id)'
        )
    announce_weekly(db, settings_for(db, tmp_path), send=False)
    with db.transaction() as session:
        row = session.scalars(select(DeliveryOccurrence)).one()
        copied = {c: getattr(row, c) for c in [*NEW_KEY, "delivery_id", "sequence", "method"]}
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add(DeliveryOccurrence(**copied))
    assert covers_rows(db) == 1


def test_downgrade_restores_the_old_key_and_keeps_the_rows(db_url: str, tmp_path: Path) -> None:
    db = Database.open(db_url)
    try:
        announce_weekly(db, settings_for(db, tmp_path), send=False)
        downgrade(db_url, "0016")
        assert covers_keys(db) == [OLD_KEY]
        assert covers_rows(db) == 1
        upgrade(db_url)
        assert covers_keys(db) == [NEW_KEY]
        assert covers_rows(db) == 1
    finally:
        db.dispose()
