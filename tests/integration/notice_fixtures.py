"""A small catalogue for the notice tests: one product, one weekly window, one customer, contacts.

NOW is 2027-01-04 12:00Z. ``pe.tue`` runs Tuesdays 00:00-06:00 New York from 2027-02-09, so its
first occurrence starts 2027-02-09 05:00Z (EST) with its deadline 2027-01-10 05:00Z and enters
the 37-day horizon at 2027-01-03 05:00Z: a planning run at NOW announces exactly that one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from scheduler.catalogue import edits as catalogue
from scheduler.settings import Settings
from scheduler.store.db import Database
from windows.rules import WeeklyRule

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
FIRST = "pe.tue.20270209"
FIRST_START = datetime(2027, 2, 9, 5, 0, tzinfo=UTC)
FIRST_END = datetime(2027, 2, 9, 11, 0, tzinfo=UTC)
FIRST_DEADLINE = datetime(2027, 1, 10, 5, 0, tzinfo=UTC)
CONTACTS = ("a@acme.example", "b@acme.example", "c@acme.example")


def settings_for(db_url: str, tmp_path: Path, smtp_url: str | None = None, **extra: Any) -> Settings:
    base = Settings(database_url=db_url, smtp_url=smtp_url, pickup_dir=tmp_path / "pickup", smtp_timeout=2.0)
    return replace(base, **extra)


def tuesday_rule(name: str = "tue", valid_from: date = date(2027, 2, 9)) -> WeeklyRule:
    return WeeklyRule("pe", name, "America/New_York", valid_from, None, None, days=(1,), start=time(0), end=time(6))


def build(db: Database, contacts: tuple[str, ...] = CONTACTS, tz: str = "Europe/London") -> None:
    """Product pe, window pe.tue, customer acme (with ``contacts``) subscribed; created a week before NOW."""
    before = NOW - timedelta(days=7)
    catalogue.add_product(db, before, "pe", "Premier Edition", notice_days=30)
    catalogue.add_window(db, before, tuesday_rule())
    catalogue.add_customer(db, before, "acme", "Acme Corp", tz, list(contacts))
    catalogue.subscribe(db, before, "acme", ["pe"])
