"""Migration 0007 keeps every delivery, what it covered and its attempts (the deliveries table is
rebuilt on SQLite), whether it runs alone or after migrations that already wrote in the same
transaction; existing deliveries are email, customers keep the default reminders."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from scheduler.store.db import normalise_url
from scheduler.store.migrate import downgrade, upgrade

_ROWS = [
    "INSERT INTO customers (id, key, name, timezone, created_at, updated_at)"
    " VALUES (1, 'acme', 'Acme', 'UTC', '2027-01-01 00:00:00', '2027-01-01 00:00:00')",
    "INSERT INTO contacts (id, customer_id, email, nominated_at)"
    " VALUES (1, 1, 'a@acme.example', '2027-01-01 00:00:00')",
    "INSERT INTO notices (id, kind, method, customer_id, note, created_at)"
    " VALUES (1, 'announce', 'PUBLISH', 1, NULL, '2027-01-01 00:00:00')",
    "INSERT INTO deliveries (id, notice_id, contact_id, email, message_id, mime, status, attempts, next_attempt_at,"
    " uncertain, created_at) VALUES (1, 1, 1, 'a@acme.example', '<m1@x>', :mime, 'sent', 1, '2027-01-01 00:00:00',"
    " false, '2027-01-01 00:00:00')",
    'INSERT INTO delivery_occurrences (id, delivery_id, customer_id, occurrence_id, product_key, start, "end",'
    " sequence, method, announced_to) VALUES (1, 1, 1, 'p.r.20270302', 'p', '2027-03-02 00:00:00',"
    " '2027-03-02 06:00:00', 0, 'PUBLISH', 'a@acme.example')",
    "INSERT INTO delivery_attempts (id, delivery_id, number, worker, started_at, finished_at, outcome, uncertain)"
    " VALUES (1, 1, 1, 'w', '2027-01-01 00:00:00', '2027-01-01 00:00:01', 'sent', false)",
]


@pytest.mark.parametrize("start", ["0005", "0002"])
def test_existing_deliveries_survive_and_are_email(db_url: str, start: str) -> None:
    downgrade(db_url, start)
    engine = create_engine(normalise_url(db_url))
    with engine.begin() as conn:
        for statement in _ROWS:
            conn.execute(text(statement), {"mime": b"bytes"})
    upgrade(db_url)
    with engine.connect() as conn:
        deliveries = conn.execute(text("SELECT id, channel, endpoint_id, due_key, mime FROM deliveries")).all()
        covers = conn.execute(text("SELECT id, delivery_id FROM delivery_occurrences")).all()
        attempts = conn.execute(text("SELECT id, delivery_id, outcome FROM delivery_attempts")).all()
        customer = conn.execute(text("SELECT reminders, lifecycle_notices FROM customers")).one()
        broken = conn.execute(text("PRAGMA foreign_key_check")).all() if conn.dialect.name == "sqlite" else []
    engine.dispose()
    assert [tuple(r) for r in deliveries] == [(1, "email", None, None, b"bytes")]
    assert [tuple(r) for r in covers] == [(1, 1)]
    assert [tuple(r) for r in attempts] == [(1, 1, "sent")]
    assert tuple(customer) == (None, False)
    assert broken == []
    downgrade(db_url, "0005")  # and back: the email delivery stays
    engine = create_engine(normalise_url(db_url))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM delivery_occurrences")).scalar() == 1
    engine.dispose()
    upgrade(db_url)
