"""Migration 0005 numbers the existing decisions per occurrence in the order they had (clock, then id)."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from scheduler.store.db import normalise_url
from scheduler.store.migrate import downgrade, upgrade

_PRODUCT = (
    "INSERT INTO products (id, key, name, notice_days, public, reschedule_cutoff_hours, reschedule_max_shift_days,"
    " created_at, updated_at) VALUES (1, 'p', 'P', 30, false, 72, 14, '2027-01-01 00:00:00', '2027-01-01 00:00:00')"
)
_OVERRIDE = (
    "INSERT INTO overrides (id, product_id, occurrence_id, customer_id, action, reason, customer_consent, created_at)"
    " VALUES (:id, 1, :occ, NULL, 'cancel', 'r', false, :at)"
)


def test_existing_decisions_are_numbered_per_occurrence(db_url: str) -> None:
    downgrade(db_url, "0002")
    engine = create_engine(normalise_url(db_url))
    with engine.begin() as conn:
        conn.execute(text(_PRODUCT))
        for id_, occ, at in [
            (1, "p.r.20270302", "2027-01-02 00:00:00"),
            (2, "p.r.20270302", "2027-01-01 00:00:00"),  # older clock: was the first decision
            (3, "p.r.20270304", "2027-01-01 00:00:00"),
            (4, "p.r.20270302", "2027-01-02 00:00:00"),  # same clock as 1: after it by id
        ]:
            conn.execute(text(_OVERRIDE), {"id": id_, "occ": occ, "at": at})
    upgrade(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, occurrence_id, decision FROM overrides ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, "p.r.20270302", 2),
        (2, "p.r.20270302", 1),
        (3, "p.r.20270304", 1),
        (4, "p.r.20270302", 3),
    ]
