"""A small catalogue for the tests of changes, unplanned maintenance and reschedule requests.

now = Monday 2027-01-04 12:00Z. Product ``pe`` (notice 30 days) has a weekly rule ``nightly``:
Tue & Thu 00:00-03:00 America/New_York (05:00Z-08:00Z in winter). Product ``pc`` has a ``local``
rule ``early``: Tue 00:00-06:00 in each customer's zone. Customers: ``thames`` (Europe/London,
2 contacts, both products) and ``harbour`` (Australia/Sydney, 1 contact, both products) and
``nile`` (Africa/Cairo, 1 contact, only ``pe``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from scheduler.catalogue import edits as catalogue
from scheduler.settings import Settings
from scheduler.store.db import Database
from windows.rulespec import RuleOptions, build_rule

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def settings(tmp_path: object, db_url: str) -> Settings:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    return Settings(database_url=db_url, pickup_dir=tmp_path / "outbox", uid_domain="test.example")


def load(db: Database) -> None:
    catalogue.add_product(db, NOW, "pe", "Premier Edition", 30)
    catalogue.add_product(db, NOW, "pc", "PureEngage Cloud", 30)
    rule, _ = build_rule(RuleOptions("pe", "nightly", "America/New_York", days="tue,thu", start="00:00", end="03:00"))
    catalogue.add_window(db, NOW, rule, waive_notice="test catalogue")
    local, _ = build_rule(RuleOptions("pc", "early", "local", days="tue", start="00:00", end="06:00"))
    catalogue.add_window(db, NOW, local, waive_notice="test catalogue")
    catalogue.add_customer(db, NOW, "thames", "Thames", "Europe/London", ["a@thames.example", "b@thames.example"])
    catalogue.add_customer(db, NOW, "harbour", "Harbour", "Australia/Sydney", ["ops@harbour.example"])
    catalogue.add_customer(db, NOW, "nile", "Nile", "Africa/Cairo", ["ops@nile.example"])
    catalogue.subscribe(db, NOW, "thames", ["pe", "pc"])
    catalogue.subscribe(db, NOW, "harbour", ["pe", "pc"])
    catalogue.subscribe(db, NOW, "nile", ["pe"])
