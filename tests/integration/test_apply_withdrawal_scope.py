"""What ``apply`` reads before a change to cancel announced occurrences that vanish: only the
products and customers the file changes in ways that can take occurrences away (issue 11: a no-op
apply of 50,000 customers with a full outbox read every announced occurrence). SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from scheduler.catalogue.apply import _may_vanish
from scheduler.catalogue.catalogue_file import parse_catalogue
from scheduler.notices.worker import send_due
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product
from tests.integration.test_catalogue_history import (
    CUSTOMER,
    HEAD,
    LATER,
    WEEKLY,
    announce_weekly,
    apply,
    sent_calendars,
    settings_for,
)

OTHER = """
[[products]]
key = "std"
name = "Standard"
notice_days = 30
"""


def scope(db: Database, text: str) -> tuple[set[str], set[str]]:
    """(products, customer keys) whose announced occurrences ``apply`` of ``text`` would read first."""
    with db.transaction() as session:
        products = {p.key: p for p in session.scalars(select(Product))}
        product_keys, customer_ids = _may_vanish(session, LATER, parse_catalogue(text), products)
        keys = set(session.scalars(select(Customer.key).where(Customer.id.in_(customer_ids))))
    return product_keys, keys


def test_only_changes_that_can_take_occurrences_away_read_them(db: Database, tmp_path: Path) -> None:
    settings = settings_for(db, tmp_path)
    announce_weekly(db, settings, send=True)
    same = HEAD + WEEKLY + OTHER + CUSTOMER
    assert scope(db, same) == (set(), set())
    assert scope(db, same.replace('name = "Acme"', 'name = "Acme Ltd"')) == (set(), set())
    assert scope(db, same.replace('contacts = ["ops@acme.example"]', 'contacts = ["noc@acme.example"]')) == (
        set(),
        set(),
    )
    assert scope(db, same.replace('subscriptions = ["pe"]', 'subscriptions = ["pe", "std"]')) == (set(), set())
    assert scope(db, same.replace('end = "06:00"', 'end = "05:00"')) == ({"pe"}, set())
    assert scope(db, HEAD + OTHER + CUSTOMER) == ({"pe"}, set())  # the window retired
    assert scope(db, same.replace('subscriptions = ["pe"]', "subscriptions = []")) == (set(), {"acme"})
    assert scope(db, same.replace('tz = "Europe/London"', 'tz = "Asia/Tokyo"')) == (set(), {"acme"})
    # Applying the same file again changes nothing.
    assert apply(db, LATER, HEAD + WEEKLY + CUSTOMER, settings) == []


def test_unsubscribing_by_the_file_withdraws_what_was_announced(db: Database, tmp_path: Path) -> None:
    """The customer that drops a subscription is in the scope, and what it was told of that product
    gets a cancellation (tests/integration/test_unsubscribe_cancels.py has more)."""
    settings = settings_for(db, tmp_path)
    announce_weekly(db, settings, send=True)
    dropped = HEAD + WEEKLY + CUSTOMER.replace('subscriptions = ["pe"]', "subscriptions = []")
    assert apply(db, LATER, dropped, settings) == [
        ("remove", "subscription acme -> pe", ""),
        ("remove", "occurrence pe.weekly.20261224", "announced to acme: cancellation queued"),
    ]
    assert send_due(db, settings, lambda: LATER).sent == 1
    assert sent_calendars(settings) == [
        ("CANCEL", "CANCELLED", "pe.weekly.20261224@maintcal.example.com", 1),
        ("PUBLISH", "CONFIRMED", "pe.weekly.20261224@maintcal.example.com", 0),
    ]
