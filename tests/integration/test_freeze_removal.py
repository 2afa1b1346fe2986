"""Removing a change freeze: its occurrences come back at a higher SEQUENCE (RFC 5545), on SQLite
and PostgreSQL. The catalogue of ``blackout_fixtures``, NOW = Monday 2027-01-04 12:00Z."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import select

from scheduler.blackouts.freezes import add_freeze, list_freezes, remove_freeze
from scheduler.feeds.content import customer_feed
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer
from scheduler.store.models_blackouts import Freeze
from scheduler.store.models_outbox import Delivery, DeliveryOccurrence, Notice
from tests.integration.blackout_fixtures import NOW, load
from windows.errors import NotFound

LC = "lc.nightly.20270209.deccan"  # Deccan's own (local) occurrence
PW = "pw.nightly.20270209"  # product-wide


@pytest.fixture
def loaded(db: Database) -> Database:
    load(db)
    return db


def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, pickup_dir=tmp_path / "pickup", uid_domain="test.example")


def feed_sequences(db: Database, s: Settings) -> dict[str, int]:
    with db.transaction() as session:
        feed = customer_feed(
            session,
            s,
            "deccan",
            datetime.fromisoformat("2027-02-09T00:00+00:00"),
            datetime.fromisoformat("2027-02-10T00:00+00:00"),
        )
    calendar = icalendar.Calendar.from_ical(feed.body)
    return {str(e["UID"]): int(str(e["SEQUENCE"])) for e in calendar.walk("VEVENT")}


def notice_sequences(db: Database) -> list[tuple[str, str, int]]:
    with db.transaction() as session:
        rows = session.execute(
            select(Notice.kind, DeliveryOccurrence.occurrence_id, DeliveryOccurrence.sequence)
            .join(Delivery, Delivery.id == DeliveryOccurrence.delivery_id)
            .join(Notice, Notice.id == Delivery.notice_id)
            .join(Customer, Customer.id == Notice.customer_id)
            .where(Customer.key == "deccan")
            .order_by(DeliveryOccurrence.id)
        ).all()
    return [(kind, occ, seq) for kind, occ, seq in rows]


def freeze(db: Database, s: Settings, at: datetime) -> int:
    """A freeze of every product over 8-9 February 2027 (UTC)."""
    info = add_freeze(
        db, at, s, product=None, start="2027-02-08T00:00", end="2027-02-10T00:00", tz="UTC", reason="release"
    )
    return info.id


def test_removing_a_freeze_restores_at_a_higher_sequence(loaded: Database, db_url: str, tmp_path: Path) -> None:
    """Cancelled at 1 by the freeze, both occurrences come back at 2, and at 4 after a second one."""
    s = settings(db_url, tmp_path)
    uids = {f"{LC}@test.example", f"{PW}@test.example"}
    assert feed_sequences(loaded, s) == dict.fromkeys(uids, 0)
    first = freeze(loaded, s, NOW)
    assert feed_sequences(loaded, s) == {}  # both cancelled, not listed
    removed = remove_freeze(loaded, NOW + timedelta(hours=1), s, first)
    assert removed.deliveries == 3  # one update to each of the 3 customers
    assert feed_sequences(loaded, s) == dict.fromkeys(uids, 2)
    assert list_freezes(loaded) == []  # a removed freeze is not listed, but kept
    with loaded.transaction() as session:
        assert [(f.id, f.removed_at) for f in session.scalars(select(Freeze))] == [(first, NOW + timedelta(hours=1))]
    with pytest.raises(NotFound, match=f"no freeze {first}"):
        remove_freeze(loaded, NOW, s, first)
    second = freeze(loaded, s, NOW + timedelta(hours=2))
    remove_freeze(loaded, NOW + timedelta(hours=3), s, second)
    assert feed_sequences(loaded, s) == dict.fromkeys(uids, 4)
    assert sorted(notice_sequences(loaded)) == sorted(
        [
            (kind, occ, seq)
            for occ in (LC, PW)
            for kind, seq in [("cancel", 1), ("update", 2), ("cancel", 3), ("update", 4)]
        ]
    )
