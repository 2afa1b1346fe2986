"""A customer unsubscribed from a product (``customer unsubscribe`` or the catalogue file) gets a
cancellation of that product's occurrences it was told about, so they leave its calendar; nothing
else is cancelled, nothing twice, and no reminder about them is sent. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from notifications.content import CANCEL, PUBLISH
from scheduler.catalogue import edits as catalogue
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.store.db import Database
from scheduler.store.models_outbox import QUEUED, Delivery, DeliveryOccurrence
from tests.integration.test_catalogue_history import ADDED, CUSTOMER, HEAD, WEEKLY, apply, sent_calendars, settings_for

PLUS = """
[[products]]
key = "pw"
name = "Plus"
notice_days = 30

  [[products.windows]]
  name = "tue"
  days = "tue"
  start = "01:00"
  end = "03:00"
  tz = "UTC"
  from = 2026-12-22
"""
BOTH = HEAD + WEEKLY + PLUS + CUSTOMER.replace('["pe"]', '["pe", "pw"]')
ONLY_PW = HEAD + WEEKLY + PLUS + CUSTOMER.replace('["pe"]', '["pw"]')
LATER = ADDED + timedelta(days=1)
UID = "@maintcal.example.com"


def covered(db: Database, method: str) -> list[tuple[str, int, str]]:
    """(occurrence, sequence, delivery status) of what the outbox's ``method`` notices covered."""
    with db.transaction() as session:
        rows = session.execute(
            select(DeliveryOccurrence.occurrence_id, DeliveryOccurrence.sequence, Delivery.status)
            .join(Delivery, Delivery.id == DeliveryOccurrence.delivery_id)
            .where(DeliveryOccurrence.method == method)
            .order_by(Delivery.id, DeliveryOccurrence.occurrence_id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def announce_both(db: Database, tmp_path: Path) -> None:
    settings = settings_for(db, tmp_path)
    apply(db, ADDED, BOTH, settings)
    [digest] = plan_notices(db, ADDED, settings).digests
    assert digest.occurrences == ("pw.tue.20261222", "pe.weekly.20261224")
    assert send_due(db, settings, lambda: ADDED).sent == 1


def test_unsubscribing_cancels_what_the_customer_was_told_of_that_product_only(db: Database, tmp_path: Path) -> None:
    settings = settings_for(db, tmp_path)
    announce_both(db, tmp_path)

    done = catalogue.unsubscribe(db, LATER, "acme", ["pe"], settings)

    assert done.products == ["pe"]
    assert [(s.id, s.customer, s.status, s.sequence) for s in done.cancelled] == [
        ("pe.weekly.20261224", "acme", "cancelled", 1)
    ]
    assert covered(db, CANCEL) == [("pe.weekly.20261224", 1, QUEUED)]
    assert send_due(db, settings, lambda: LATER).sent == 1
    assert sent_calendars(settings) == [
        ("CANCEL", "CANCELLED", f"pe.weekly.20261224{UID}", 1),
        ("PUBLISH", "CONFIRMED", f"pe.weekly.20261224{UID}", 0),
        ("PUBLISH", "CONFIRMED", f"pw.tue.20261222{UID}", 0),
    ]
    # The other product next: its occurrence only, not the first product's again.
    done = catalogue.unsubscribe(db, LATER, "acme", ["pw", "pe"], settings)
    assert done.products == ["pw"]
    assert [(s.id, s.sequence) for s in done.cancelled] == [("pw.tue.20261222", 1)]
    assert covered(db, CANCEL) == [("pe.weekly.20261224", 1, "sent"), ("pw.tue.20261222", 1, QUEUED)]
    # Nothing left to unsubscribe from: nothing happens.
    assert catalogue.unsubscribe(db, LATER, "acme", ["pe"], settings).cancelled == []


def test_a_notice_not_sent_yet_is_superseded_instead(db: Database, tmp_path: Path) -> None:
    settings = settings_for(db, tmp_path)
    apply(db, ADDED, BOTH, settings)
    plan_notices(db, ADDED, settings)  # queued, not sent

    done = catalogue.unsubscribe(db, LATER, "acme", ["pe"], settings)

    assert [(s.id, s.sequence) for s in done.cancelled] == [("pe.weekly.20261224", 1)]
    assert covered(db, CANCEL) == []  # nobody was told: nothing to cancel
    assert [row for row in covered(db, PUBLISH) if row[2] == QUEUED] == []  # the digest will not go
    # The next run announces what the customer still has, alone.
    assert [d.occurrences for d in plan_notices(db, LATER, settings).digests] == [("pw.tue.20261222",)]


def test_a_catalogue_file_without_the_subscription_cancels_once(db: Database, tmp_path: Path) -> None:
    settings = settings_for(db, tmp_path)
    announce_both(db, tmp_path)

    assert apply(db, LATER, ONLY_PW, settings) == [
        ("remove", "subscription acme -> pe", ""),
        ("remove", "occurrence pe.weekly.20261224", "announced to acme: cancellation queued"),
    ]
    assert covered(db, CANCEL) == [("pe.weekly.20261224", 1, QUEUED)]
    assert apply(db, LATER + timedelta(hours=1), ONLY_PW, settings) == []
    assert covered(db, CANCEL) == [("pe.weekly.20261224", 1, QUEUED)]
