"""``on_blackout = "next"`` and the notice period (issue 14, DESIGN §3), on SQLite and PostgreSQL.

NOW = Monday 2027-01-04 12:00Z; the catalogue of ``blackout_fixtures``: ``ln.early`` is NYC Bank's
own Tuesday 00:00-06:00 New York window, notice 30 days, policy ``next``. A move to a slot whose
notice deadline had passed when the blackout took effect would be an unannounced window: the
occurrence is skipped instead, and its customer gets a CANCEL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import select

from scheduler.blackouts import declare
from scheduler.blackouts.conflicts import list_conflicts
from scheduler.catalogue import edits as catalogue
from scheduler.feeds.content import customer_feed
from scheduler.occurrences.schedule import occurrences
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models_outbox import Delivery, DeliveryOccurrence, Notice
from tests.integration.blackout_fixtures import NOW, load
from windows.blackouts import parse_monthly, parse_once
from windows.errors import NotFound


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def loaded(db: Database) -> Database:
    load(db)
    return db


def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, pickup_dir=tmp_path / "pickup", uid_domain="test.example")


def view(db: Database, start: str, end: str) -> list[tuple[str, str, str, str, int, str | None]]:
    with db.transaction() as session:
        items = occurrences(session, z(start), z(end), customer="nyc", include_cancelled=True)
    return [
        (
            s.id,
            s.status,
            f"{s.start:%Y-%m-%dT%H:%MZ}",
            f"{s.end:%Y-%m-%dT%H:%MZ}",
            s.sequence,
            f"{s.notice_deadline:%Y-%m-%dT%H:%MZ}" if s.notice_deadline else None,
        )
        for s in items
    ]


def test_a_late_next_move_inside_the_notice_period_is_skipped(loaded: Database, db_url: str, tmp_path: Path) -> None:
    s = settings(db_url, tmp_path)
    # Mon 18 - Thu 21 Jan: declared 14 days ahead (lead 30), so pending until ops approve it.
    late = declare.add_blackout(loaded, NOW, s, "nyc", parse_once("2027-01-18T00:00", "2027-01-21T00:00"), "Audit")
    assert late.status == "pending"
    approved = declare.approve(loaded, NOW, s, late.id)
    assert (approved.status, approved.deliveries) == ("active", 1)
    # The next slot, Thu 21 Jan 00:00-06:00 EST, had its deadline on 2026-12-22T05:00Z, before the
    # approval (2027-01-04T12:00Z): the Tuesday is cancelled, not moved to an unannounced time.
    assert view(loaded, "2027-01-18T00:00Z", "2027-01-27T00:00Z") == [
        ("ln.early.20270119.nyc", "cancelled", "2027-01-19T05:00Z", "2027-01-19T11:00Z", 1, "2026-12-20T05:00Z"),
        ("ln.early.20270126.nyc", "scheduled", "2027-01-26T05:00Z", "2027-01-26T11:00Z", 0, "2026-12-27T05:00Z"),
    ]
    with loaded.transaction() as session:
        notices = [(n.kind, n.customer_id) for n in session.query(Notice).order_by(Notice.id)]
    assert notices == [("cancel", 3)]
    [conflict] = list_conflicts(loaded, z("2027-01-18T00:00Z"), z("2027-01-27T00:00Z"))
    assert (conflict.occurrence, conflict.customer, conflict.blackout, conflict.resolution) == (
        "ln.early.20270119.nyc",
        "nyc",
        1,
        "skipped",
    )


def test_a_next_move_whose_deadline_is_still_ahead_moves(loaded: Database, db_url: str, tmp_path: Path) -> None:
    s = settings(db_url, tmp_path)
    # Mon 8 - Thu 11 Feb, declared 35 days ahead: the Thursday slot's deadline (2027-01-12T05:00Z)
    # is after the declaration, so Tue 9 Feb moves there.
    info = declare.add_blackout(loaded, NOW, s, "nyc", parse_once("2027-02-08T00:00", "2027-02-11T00:00"), "Close")
    assert info.status == "active"
    assert view(loaded, "2027-02-08T00:00Z", "2027-02-12T00:00Z") == [
        ("ln.early.20270209.nyc", "moved", "2027-02-11T05:00Z", "2027-02-11T11:00Z", 1, "2027-01-12T05:00Z"),
    ]


@pytest.mark.parametrize(
    ("approved_at", "expected"),
    [
        ("2027-01-12T05:00:00Z", ("moved", "2027-02-11T05:00Z")),
        ("2027-01-12T05:00:01Z", ("cancelled", "2027-02-09T05:00Z")),
    ],
)
def test_approved_at_the_new_slots_deadline_still_moves(
    loaded: Database, db_url: str, tmp_path: Path, approved_at: str, expected: tuple[str, str]
) -> None:
    """On time is at or before the deadline (DESIGN §3): approved one second later, it is skipped."""
    s = settings(db_url, tmp_path)
    late = declare.add_blackout(
        loaded, z("2027-01-11T00:00Z"), s, "nyc", parse_once("2027-02-08T00:00", "2027-02-11T00:00"), "Close"
    )
    assert late.status == "pending"
    declare.approve(loaded, z(approved_at), s, late.id)
    assert view(loaded, "2027-02-08T00:00Z", "2027-02-12T00:00Z")[0][1:3] == expected


def feed_sequences(db: Database, s: Settings, customer: str, start: str, end: str) -> dict[str, int]:
    with db.transaction() as session:
        feed = customer_feed(session, s, customer, z(start), z(end))
    calendar = icalendar.Calendar.from_ical(feed.body)
    return {str(e["UID"]): int(str(e["SEQUENCE"])) for e in calendar.walk("VEVENT")}


def notice_sequences(db: Database) -> list[tuple[str, str, int, str]]:
    with db.transaction() as session:
        rows = session.execute(
            select(Notice.kind, DeliveryOccurrence.occurrence_id, DeliveryOccurrence.sequence, DeliveryOccurrence.start)
            .join(Delivery, Delivery.id == DeliveryOccurrence.delivery_id)
            .join(Notice, Notice.id == Delivery.notice_id)
            .order_by(DeliveryOccurrence.id)
        ).all()
    return [(kind, occ, seq, f"{start:%Y-%m-%dT%H:%MZ}") for kind, occ, seq, start in rows]


def test_removing_a_blackout_restores_at_a_higher_sequence(loaded: Database, db_url: str, tmp_path: Path) -> None:
    """RFC 5545: SEQUENCE never goes down. Skipped at 1, the occurrence comes back at 2."""
    s = settings(db_url, tmp_path)
    uid = "lc.nightly.20270209.deccan@test.example"
    assert feed_sequences(loaded, s, "deccan", "2027-02-09T00:00Z", "2027-02-10T00:00Z")[uid] == 0
    info = declare.add_blackout(loaded, NOW, s, "deccan", parse_once("2027-02-08T00:00", "2027-02-10T00:00"), "Audit")
    assert uid not in feed_sequences(loaded, s, "deccan", "2027-02-09T00:00Z", "2027-02-10T00:00Z")  # cancelled
    removed = declare.remove(loaded, NOW + timedelta(hours=1), s, info.id)
    assert removed.deliveries == 1
    assert feed_sequences(loaded, s, "deccan", "2027-02-09T00:00Z", "2027-02-10T00:00Z") == {
        uid: 2,
        "pw.nightly.20270209@test.example": 0,  # product-wide: never changed by a blackout
    }
    assert notice_sequences(loaded) == [
        ("cancel", "lc.nightly.20270209.deccan", 1, "2027-02-08T18:30Z"),
        ("update", "lc.nightly.20270209.deccan", 2, "2027-02-08T18:30Z"),
    ]
    assert [b.id for b in declare.list_blackouts(loaded)] == []  # a removed blackout is not listed
    with pytest.raises(NotFound, match="no blackout 1"):
        declare.remove(loaded, NOW, s, info.id)
    # Declared again: cancelled at 3, and removed again: back at 4.
    again = declare.add_blackout(loaded, NOW, s, "deccan", parse_once("2027-02-08T00:00", "2027-02-10T00:00"), "A")
    declare.remove(loaded, NOW + timedelta(hours=2), s, again.id)
    assert feed_sequences(loaded, s, "deccan", "2027-02-09T00:00Z", "2027-02-10T00:00Z")[uid] == 4
    assert [seq for _, occ, seq, _ in notice_sequences(loaded) if occ == "lc.nightly.20270209.deccan"] == [1, 2, 3, 4]


def test_next_moved_then_restored_keeps_raising_the_sequence(loaded: Database, db_url: str, tmp_path: Path) -> None:
    s = settings(db_url, tmp_path)
    info = declare.add_blackout(loaded, NOW, s, "nyc", parse_once("2027-02-08T00:00", "2027-02-11T00:00"), "Close")
    assert view(loaded, "2027-02-08T00:00Z", "2027-02-12T00:00Z")[0][:2] == ("ln.early.20270209.nyc", "moved")
    declare.remove(loaded, NOW, s, info.id)
    assert view(loaded, "2027-02-08T00:00Z", "2027-02-12T00:00Z") == [
        ("ln.early.20270209.nyc", "scheduled", "2027-02-09T05:00Z", "2027-02-09T11:00Z", 2, "2027-01-10T05:00Z"),
    ]
    assert feed_sequences(loaded, s, "nyc", "2027-02-08T00:00Z", "2027-02-12T00:00Z") == {
        "ln.early.20270209.nyc@test.example": 2
    }


def test_an_occurrence_across_two_intervals_of_one_blackout_is_one_conflict(
    loaded: Database, db_url: str, tmp_path: Path
) -> None:
    """Days 1-31 of every month: the intervals meet at each local midnight. Tue 1 Jun 2027
    00:00-03:00 New York (04:00-07:00Z) spans Denver's midnight (06:00Z): one conflict, not two."""
    s = settings(db_url, tmp_path)
    catalogue.add_customer(loaded, NOW, "rockies", "Rockies", "America/Denver", ["ops@rockies.example"])
    catalogue.subscribe(loaded, NOW, "rockies", ["pw"])
    info = declare.add_blackout(loaded, NOW, s, "rockies", parse_monthly("1-31"), "Always")
    declare.approve(loaded, NOW, s, info.id)
    listed = [
        (c.occurrence, c.customer, c.blackout, c.resolution, f"{c.start:%Y-%m-%dT%H:%MZ}")
        for c in list_conflicts(loaded, z("2027-05-31T12:00Z"), z("2027-06-02T00:00Z"))
    ]
    assert listed == [("pw.nightly.20270601", "rockies", 1, "unresolved", "2027-06-01T04:00Z")]
