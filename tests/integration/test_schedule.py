"""The read side (scheduler.occurrences.schedule.occurrences): rules expanded per view, changes and unplanned windows.

The example catalogue is applied at 2027-01-04T12:00Z. The week of 2027-03-14 is New York's first
week on EDT (-04:00) while London is still on GMT and Sydney on AEDT (+11:00).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from scheduler.catalogue.apply import apply_catalogue
from scheduler.catalogue.catalogue_file import parse_catalogue
from scheduler.catalogue.edits import retire_window
from scheduler.occurrences.schedule import find_occurrence, occurrences
from scheduler.serialize import occurrence_json
from scheduler.store.db import Database
from scheduler.store.models import Customer, Override, Product, Unplanned, UnplannedCustomer
from windows.errors import NotFound
from windows.schedule import Scheduled

PEC = "pureengage-cloud.early-morning.20270316"
EXAMPLE = (Path(__file__).resolve().parents[2] / "examples" / "catalogue.toml").read_text(encoding="utf-8")


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def example(db: Database, now: datetime) -> Iterator[Database]:
    apply_catalogue(db, now, parse_catalogue(EXAMPLE))
    yield db


def listed(db: Database, start: str, end: str, **kw: Any) -> list[Scheduled]:
    with db.transaction() as session:
        return occurrences(session, z(f"{start}T00:00:00Z"), z(f"{end}T00:00:00Z"), **kw)


def brief(items: list[Scheduled]) -> list[tuple[str, str, str, str]]:
    return [(s.id, s.status, f"{s.start:%Y-%m-%dT%H:%MZ}", f"{s.end:%Y-%m-%dT%H:%MZ}") for s in items]


def test_product_view_of_a_new_york_rule(example: Database) -> None:
    # Tue-Thu 22:00-05:00: Thu 03-11 is still EST; Tue 03-16 and Wed 03-17 are EDT.
    assert brief(listed(example, "2027-03-12", "2027-03-19", product="premier-edition")) == [
        ("premier-edition.nightly.20270311", "scheduled", "2027-03-12T03:00Z", "2027-03-12T10:00Z"),
        ("premier-edition.nightly.20270316", "scheduled", "2027-03-17T02:00Z", "2027-03-17T09:00Z"),
        ("premier-edition.nightly.20270317", "scheduled", "2027-03-18T02:00Z", "2027-03-18T09:00Z"),
    ]


def test_occurrence_json_has_the_design_shape(example: Database) -> None:
    items = listed(example, "2027-03-16", "2027-03-18", product="premier-edition")
    assert occurrence_json(items[0], "maintcal.example.com") == {
        "id": "premier-edition.nightly.20270316",
        "uid": "premier-edition.nightly.20270316@maintcal.example.com",
        "product": "premier-edition",
        "rule": "nightly",
        "customer": None,
        "kind": "planned",
        "status": "scheduled",
        "start": "2027-03-17T02:00:00Z",
        "end": "2027-03-17T09:00:00Z",
        "timezone": "America/New_York",
        "local_start": "2027-03-16T22:00:00-04:00",
        "local_end": "2027-03-17T05:00:00-04:00",
        "sequence": 0,
        # 30 days before Tue 22:00 EDT is Sun 2027-02-14 22:00 EST.
        "notice_deadline": "2027-02-15T03:00:00Z",
        "imported": False,
    }


def test_a_local_rule_is_expanded_for_every_subscriber_in_the_product_view(example: Database) -> None:
    # Tue 2027-03-16 00:00-06:00 local: Sydney's ended at 19:00Z the day before, so it is not listed.
    items = listed(example, "2027-03-16", "2027-03-17", product="pureengage-cloud")
    assert brief(items) == [
        (f"{PEC}.deccan-retail", "scheduled", "2027-03-15T18:30Z", "2027-03-16T00:30Z"),
        (f"{PEC}.nile-logistics", "scheduled", "2027-03-15T22:00Z", "2027-03-16T04:00Z"),
        (f"{PEC}.thames-telecom", "scheduled", "2027-03-16T00:00Z", "2027-03-16T06:00Z"),
    ]
    assert [(s.customer, s.timezone, s.local_start.isoformat()) for s in items] == [
        ("deccan-retail", "Asia/Kolkata", "2027-03-16T00:00:00+05:30"),
        ("nile-logistics", "Africa/Cairo", "2027-03-16T00:00:00+02:00"),
        ("thames-telecom", "Europe/London", "2027-03-16T00:00:00+00:00"),
    ]
    assert [s.occurrence.base_id for s in items] == ["pureengage-cloud.early-morning.20270316"] * 3


def test_customer_view_lists_subscribed_products_in_the_customers_zone(example: Database) -> None:
    items = listed(example, "2027-03-15", "2027-03-18", customer="thames-telecom")
    assert brief(items) == [
        (f"{PEC}.thames-telecom", "scheduled", "2027-03-16T00:00Z", "2027-03-16T06:00Z"),
        ("premier-edition.nightly.20270316", "scheduled", "2027-03-17T02:00Z", "2027-03-17T09:00Z"),
    ]
    assert [s.customer for s in items] == ["thames-telecom", "thames-telecom"]
    # Harbour Health (Sydney) is not subscribed to premier-edition.
    assert listed(example, "2027-03-15", "2027-03-18", customer="harbour-health", product="premier-edition") == []


def test_unknown_names_are_not_found(example: Database) -> None:
    with pytest.raises(NotFound):
        listed(example, "2027-03-15", "2027-03-18", product="nope")
    with pytest.raises(NotFound):
        listed(example, "2027-03-15", "2027-03-18", customer="nobody")


def test_a_retired_rule_stops(example: Database, now: datetime) -> None:
    assert len(listed(example, "2027-03-17", "2027-03-19", product="pureengage-cloud")) == 4
    retire_window(example, now, "pureengage-cloud", "early-morning", date(2027, 3, 18))
    # Occurrences whose local start date is 2027-03-18 or later are gone, in every customer's zone.
    assert listed(example, "2027-03-17", "2027-03-19", product="pureengage-cloud") == []
    assert len(listed(example, "2027-03-15", "2027-03-17", product="pureengage-cloud")) == 4


def add_override(db: Database, now: datetime, occurrence: str, action: str, customer: str | None = None,
                 start: str | None = None, end: str | None = None) -> None:  # fmt: skip
    with db.transaction() as session:
        product = session.scalars(select(Product).where(Product.key == occurrence.split(".")[0])).one()
        customer_id = session.scalar(select(Customer.id).where(Customer.key == customer)) if customer else None
        session.add(
            Override(
                product_id=product.id,
                occurrence_id=occurrence,
                customer_id=customer_id,
                action=action,
                new_start=z(start) if start else None,
                new_end=z(end) if end else None,
                reason="test",
                created_at=now,
            )
        )


def test_changes_apply_per_view_with_sequence(example: Database, now: datetime) -> None:
    add_override(example, now, "premier-edition.nightly.20270316", "cancel")
    add_override(example, now, "premier-edition.nightly.20270317", "move", "thames-telecom",
                 "2027-03-20T02:00:00Z", "2027-03-20T09:00:00Z")  # fmt: skip
    assert brief(listed(example, "2027-03-16", "2027-03-19", product="premier-edition")) == [
        ("premier-edition.nightly.20270317", "scheduled", "2027-03-18T02:00Z", "2027-03-18T09:00Z"),
    ]
    everything = listed(example, "2027-03-16", "2027-03-19", product="premier-edition", include_cancelled=True)
    assert [(s.id, s.status, s.sequence) for s in everything] == [
        ("premier-edition.nightly.20270316", "cancelled", 1),
        ("premier-edition.nightly.20270317", "scheduled", 0),
    ]
    moved = listed(example, "2027-03-16", "2027-03-22", customer="thames-telecom", product="premier-edition")
    assert brief(moved) == [
        ("premier-edition.nightly.20270318", "scheduled", "2027-03-19T02:00Z", "2027-03-19T09:00Z"),
        ("premier-edition.nightly.20270317", "moved", "2027-03-20T02:00Z", "2027-03-20T09:00Z"),
    ]
    assert (moved[1].sequence, moved[1].local_start.isoformat()) == (1, "2027-03-19T22:00:00-04:00")
    # A range that holds only the new time finds it.
    assert brief(listed(example, "2027-03-20", "2027-03-21", customer="thames-telecom", product="premier-edition")) == [
        ("premier-edition.nightly.20270317", "moved", "2027-03-20T02:00Z", "2027-03-20T09:00Z"),
    ]
    found = None
    with example.transaction() as session:
        found = find_occurrence(session, "premier-edition.nightly.20270317", "thames-telecom")
    assert found is not None and (found.status, found.start) == ("moved", z("2027-03-20T02:00:00Z"))


def test_unplanned_windows_are_listed_for_their_customers(example: Database, now: datetime) -> None:
    with example.transaction() as session:
        product = session.scalars(select(Product).where(Product.key == "premier-edition")).one()
        pacific = session.scalars(select(Customer).where(Customer.key == "pacific-media")).one()
        start, end = z("2027-03-16T12:00:00Z"), z("2027-03-16T13:30:00Z")
        row = Unplanned(
            product_id=product.id, number=1, start=start, end=end, reason="disk", declared_at=now, updated_at=now
        )
        session.add(row)
        session.flush()
        session.add(UnplannedCustomer(unplanned_id=row.id, customer_id=pacific.id))
    product_view = listed(example, "2027-03-16", "2027-03-18", product="premier-edition")
    assert [(s.id, s.kind, s.timezone, s.notice_deadline) for s in product_view] == [
        ("premier-edition.unplanned-1", "unplanned", "UTC", None),
        ("premier-edition.nightly.20270316", "planned", "America/New_York", z("2027-02-15T03:00:00Z")),
    ]
    pacific_view = listed(example, "2027-03-16", "2027-03-18", customer="pacific-media", product="premier-edition")
    assert [(s.id, s.customer, s.local_start.isoformat(), s.sequence) for s in pacific_view] == [
        ("premier-edition.unplanned-1", "pacific-media", "2027-03-16T05:00:00-07:00", 0),
        ("premier-edition.nightly.20270316", "pacific-media", "2027-03-16T22:00:00-04:00", 0),
    ]
    thames_view = listed(example, "2027-03-16", "2027-03-18", customer="thames-telecom", product="premier-edition")
    assert [s.id for s in thames_view] == ["premier-edition.nightly.20270316"]


@pytest.mark.parametrize(
    ("occurrence", "customer", "found"),
    [
        ("premier-edition.nightly.20270316", None, "2027-03-17T02:00:00+00:00"),
        ("premier-edition.nightly.20270316", "pacific-media", "2027-03-17T02:00:00+00:00"),
        ("pureengage-cloud.early-morning.20270316.harbour-health", None, "2027-03-15T13:00:00+00:00"),
        ("pureengage-cloud.early-morning.20270316.harbour-health", "harbour-health", "2027-03-15T13:00:00+00:00"),
        ("pureengage-cloud.early-morning.20270316.harbour-health", "thames-telecom", None),
        ("premier-edition.nightly.20270315", None, None),  # a Monday: no occurrence
        ("premier-edition.nightly.2027031x", None, None),
        ("premier-edition.nightly", None, None),
        ("premier-edition", None, None),
        ("premier-edition.unplanned-9", None, None),
    ],
)
def test_find_occurrence(example: Database, occurrence: str, customer: str | None, found: str | None) -> None:
    with example.transaction() as session:
        result = find_occurrence(session, occurrence, customer)
    assert (result.start.isoformat() if result else None) == found
    if result:
        assert result.id == occurrence
