"""Migration 0010 makes ``notices.customer_id`` nullable (a notice to ops) without moving a row: on
SQLite the stored definition is edited in place, so no delivery is lost to ON DELETE CASCADE,
whether it runs alone or after migrations that already wrote in the same transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from scheduler.store.db import normalise_url
from scheduler.store.migrate import downgrade, upgrade
from tests.integration.test_migration_0007 import _ROWS

_OPS_NOTICE = (
    "INSERT INTO notices (id, kind, method, customer_id, note, created_at)"
    " VALUES (2, 'ops-conflicts', 'PUBLISH', NULL, NULL, '2027-01-02 00:00:00')"
)
_OPS_DELIVERY = (
    "INSERT INTO deliveries (id, notice_id, contact_id, email, message_id, mime, status, attempts, next_attempt_at,"
    " uncertain, created_at) VALUES (2, 2, NULL, 'ops@vendor.example', '<m2@x>', :mime, 'queued', 0,"
    " '2027-01-02 00:00:00', false, '2027-01-02 00:00:00')"
)


@pytest.mark.parametrize("start", ["0007", "0005"])
def test_notices_to_ops_and_every_delivery_kept(db_url: str, start: str) -> None:
    downgrade(db_url, start)
    engine = create_engine(normalise_url(db_url))
    with engine.begin() as conn:
        for statement in _ROWS:
            conn.execute(text(statement), {"mime": b"bytes"})
    upgrade(db_url)
    engine.dispose()
    engine = create_engine(normalise_url(db_url))
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("PRAGMA foreign_keys = ON"))
        conn.execute(text(_OPS_NOTICE))
        conn.execute(text(_OPS_DELIVERY), {"mime": b"ops"})
    with engine.connect() as conn:
        notices = conn.execute(text("SELECT id, customer_id FROM notices ORDER BY id")).all()
        deliveries = conn.execute(text("SELECT id, notice_id FROM deliveries ORDER BY id")).all()
        covers = conn.execute(text("SELECT count(*) FROM delivery_occurrences")).scalar()
        attempts = conn.execute(text("SELECT count(*) FROM delivery_attempts")).scalar()
        checks = (
            (
                conn.execute(text("PRAGMA integrity_check")).scalar(),
                conn.execute(text("PRAGMA foreign_key_check")).all(),
            )
            if conn.dialect.name == "sqlite"
            else ("ok", [])
        )
    engine.dispose()
    assert [tuple(r) for r in notices] == [(1, 1), (2, None)]
    assert [tuple(r) for r in deliveries] == [(1, 1), (2, 2)]
    assert (covers, attempts) == (1, 1)
    assert checks == ("ok", [])
    downgrade(db_url, "0007")  # notices to ops go, with their deliveries; the customer's stay
    engine = create_engine(normalise_url(db_url))
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text("SELECT id, notice_id FROM deliveries"))] == [(1, 1)]
        assert conn.execute(text("SELECT count(*) FROM delivery_attempts")).scalar() == 1
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(_OPS_NOTICE))
    engine.dispose()
    upgrade(db_url)
