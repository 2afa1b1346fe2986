"""Blackouts, freezes and the blackout policy in the catalogue file (DESIGN §9, issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest

from scheduler.blackouts.conflicts import list_conflicts
from scheduler.blackouts.declare import list_blackouts
from scheduler.blackouts.freezes import list_freezes
from scheduler.catalogue.apply import apply_catalogue
from scheduler.catalogue.catalogue_file import parse_catalogue
from scheduler.feeds.content import product_feed
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Product
from windows.errors import ManyProblems

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_example_blackouts_apply_on_top_of_the_catalogue(db: Database, db_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "pickup")
    apply_catalogue(db, NOW, parse_catalogue((EXAMPLES / "catalogue.toml").read_text()), settings=settings)
    blackouts = parse_catalogue((EXAMPLES / "blackouts.toml").read_text())
    plan = apply_catalogue(db, NOW, blackouts, settings=settings)
    assert [(p.action, p.what) for p in plan if p.action != "keep"] == [
        ("add", "customer meridian-bank"),
        ("add", "contact meridian-bank change-board@meridian.example.com"),
        ("add", "subscription meridian-bank -> pureengage-cloud"),
        ("add", "subscription meridian-bank -> premier-edition"),
        ("add", "blackout deccan-retail 'Black Friday week'"),
        ("add", "blackout meridian-bank 'Q1 close'"),
        ("add", "blackout meridian-bank 'Q2 close'"),
        ("add", "blackout meridian-bank 'Q3 close'"),
        ("add", "blackout meridian-bank 'Q4 close'"),
        ("add", "freeze all"),
    ]
    assert [p for p in apply_catalogue(db, NOW, blackouts, settings=settings) if p.action != "keep"] == []
    assert [(b.id, b.customer, b.kind, b.spec, b.status) for b in list_blackouts(db)] == [
        (1, "deccan-retail", "yearly", "11-24:11-30", "active"),
        (2, "meridian-bank", "yearly", "03-30:03-31", "active"),
        (3, "meridian-bank", "yearly", "06-29:06-30", "active"),
        (4, "meridian-bank", "yearly", "09-29:09-30", "active"),
        (5, "meridian-bank", "yearly", "12-30:12-31", "active"),
    ]
    assert [(f.product, f.start, f.end) for f in list_freezes(db)] == [
        (None, z("2027-12-20T05:00Z"), z("2028-01-05T05:00Z"))
    ]
    with db.transaction() as session:
        product = session.query(Product).filter_by(key="pureengage-cloud").one()
        assert (product.on_blackout, product.blackout_lead_days) == ("skip", 30)
    # Q1 close in Zurich: 2027-03-30 00:00 CEST (22:00Z the day before) to 2027-04-01 00:00 CEST.
    found = [
        (c.occurrence, c.customer, c.blackout, c.resolution)
        for c in list_conflicts(db, z("2027-03-29T00:00Z"), z("2027-04-02T00:00Z"))
    ]
    # Tue 00:00-06:00 Zurich is skipped; premier-edition's Tue 22:00 EDT (Wed 02:00Z) is a conflict.
    assert found == [
        ("pureengage-cloud.early-morning.20270330.meridian-bank", "meridian-bank", 2, "skipped"),
        ("premier-edition.nightly.20270330", "meridian-bank", 2, "unresolved"),
    ]


def test_bad_blackouts_and_freezes_are_listed_as_problems() -> None:
    text = """
[[products]]
key = "p"
name = "P"
on_blackout = "later"

[[customers]]
key = "c"
name = "C"
tz = "UTC"
  [[customers.blackouts]]
  label = "x"
  yearly = "11-31:12-01"
  [[customers.blackouts]]
  label = "y"
  monthly = "last-2"
  yearly = "11-01:11-02"

[[freezes]]
products = 3
start = "2027-12-20T00:00"
end = "2028-01-05T00:00"
tz = "UTC"
reason = "r"
"""
    with pytest.raises(ManyProblems) as raised:
        parse_catalogue(text)
    message = raised.value.message
    assert "4 problem(s)" in message
    assert 'products must be a list of product keys or "all"' in message
    assert "on_blackout must be" in message
    assert "11-31 is not a date" in message
    assert "give exactly one of start/end, yearly or monthly" in message


def test_a_freeze_the_file_drops_restores_at_a_higher_sequence(db: Database, db_url: str, tmp_path: Path) -> None:
    """The year-end freeze cancels premier-edition's windows (SEQUENCE 1); dropped from the file, they
    come back at 2 (RFC 5545: never lower than the cancellation)."""
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "pickup", uid_domain="test.example")
    apply_catalogue(db, NOW, parse_catalogue((EXAMPLES / "catalogue.toml").read_text()), settings=settings)

    def sequences() -> dict[str, int]:
        with db.transaction() as session:
            feed = product_feed(session, settings, "premier-edition", z("2027-12-21T00:00Z"), z("2027-12-25T00:00Z"))
        return {str(e["UID"]): int(str(e["SEQUENCE"])) for e in icalendar.Calendar.from_ical(feed.body).walk("VEVENT")}

    before = sequences()
    assert before and set(before.values()) == {0}
    apply_catalogue(db, NOW, parse_catalogue((EXAMPLES / "blackouts.toml").read_text()), settings=settings)
    assert sequences() == {}  # cancelled by the freeze
    plan = apply_catalogue(db, NOW, parse_catalogue("freezes = []\n"), settings=settings)
    assert [(p.action, p.what) for p in plan if p.action != "keep"] == [("remove", "freeze 1")]
    assert list_freezes(db) == []
    assert sequences() == dict.fromkeys(before, 2)
