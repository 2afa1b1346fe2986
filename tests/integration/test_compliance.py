"""Compliance on SQLite and PostgreSQL: noticed, pending, violated (and why), waived, exempt."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from scheduler.catalogue import edits as catalogue
from scheduler.notices.change_notices import enqueue_change_notices
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.occurrences.schedule import find_occurrence
from scheduler.reports.compliance import compliance
from scheduler.store.db import Database
from scheduler.store.models import Customer, Override, Product, Unplanned
from tests.integration.notice_fixtures import CONTACTS, FIRST, FIRST_DEADLINE, NOW, build, settings_for
from tests.smtp_server import FaultHandler, smtp_server
from windows.rules import WeeklyRule

T1 = NOW + timedelta(minutes=1)
AFTER = datetime(2027, 3, 1, tzinfo=UTC)  # every February occurrence is over
FEB9, FEB10 = datetime(2027, 2, 9, tzinfo=UTC), datetime(2027, 2, 10, tzinfo=UTC)


def report(
    db: Database, now: datetime, start: datetime = FEB9, end: datetime = FEB10, **kw: Any
) -> list[dict[str, Any]]:
    return [c.to_json() for c in compliance(db, now, start, end, **kw)]


def first_item(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "occurrence": FIRST,
        "customer": "acme",
        "product": "pe",
        "kind": "planned",
        "status": "scheduled",
        "start": "2027-02-09T05:00:00Z",
        "end": "2027-02-09T11:00:00Z",
        "sequence": 0,
        "deadline": "2027-01-10T05:00:00Z",
        "state": "noticed",
        "noticed_at": None,
        "notified": [],
        "reasons": [],
        "note": None,
    }
    base.update(changes)
    return base


def not_sent(email: str, detail: str = "no notice covering the current start and end was queued") -> dict[str, Any]:
    return {"contact": email, "reason": "not sent", "detail": detail}


def test_noticed_when_every_contact_got_it_before_the_deadline(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)
    assert report(db, NOW) == [
        first_item(state="pending", reasons=[not_sent(c, "queued, 0 attempt(s)") for c in CONTACTS])
    ]
    send_due(db, settings, lambda: T1)
    assert report(db, AFTER) == [first_item(noticed_at="2027-01-04T12:01:00Z", notified=list(CONTACTS))]


def test_sent_one_second_late_is_a_violation_per_contact(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)
    send_due(db, settings, lambda: FIRST_DEADLINE + timedelta(seconds=1))
    late = [{"contact": c, "reason": "sent late", "detail": "accepted at 2027-01-10T05:00:01Z"} for c in CONTACTS]
    assert report(db, AFTER) == [first_item(state="violated", reasons=late)]
    # Exactly at the deadline is in time.
    assert report(db, FIRST_DEADLINE)[0]["state"] == "pending"


def test_a_5xx_failure_names_the_contact_and_the_reply(db: Database, db_url: str, tmp_path: Path) -> None:
    handler = FaultHandler(rcpt={"c@acme.example": ["550 5.1.1 no such user"]})
    server = smtp_server(handler)
    try:
        build(db)
        settings = settings_for(db_url, tmp_path, smtp_url=server.url)
        plan_notices(db, NOW, settings)
        send_due(db, settings, lambda: T1)
    finally:
        server.stop()
    [item] = report(db, AFTER)
    assert (item["state"], item["reasons"]) == (
        "violated",
        [{"contact": "c@acme.example", "reason": "failed", "detail": "550 5.1.1 no such user"}],
    )


def test_never_announced_and_no_contact(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    catalogue.add_customer(db, NOW - timedelta(days=7), "bare", "No Contacts Ltd", "UTC", [])
    catalogue.subscribe(db, NOW - timedelta(days=7), "bare", ["pe"])
    items = report(db, AFTER)
    assert items == [
        first_item(state="violated", reasons=[not_sent(c) for c in CONTACTS]),
        first_item(
            customer="bare",
            state="violated",
            reasons=[
                {
                    "contact": None,
                    "reason": "no contact",
                    "detail": "no contact was nominated at the deadline 2027-01-10T05:00:00Z",
                }
            ],
        ),
    ]
    assert report(db, AFTER, customer="bare")[0]["customer"] == "bare"


def test_only_contacts_nominated_at_the_deadline_count(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path)
    catalogue.remove_contact(db, NOW - timedelta(days=1), "acme", "c@acme.example")  # before the deadline
    plan_notices(db, NOW, settings)
    send_due(db, settings, lambda: T1)
    catalogue.add_contact(db, FIRST_DEADLINE + timedelta(hours=1), "acme", "new@acme.example")  # after it
    assert report(db, AFTER) == [
        first_item(noticed_at="2027-01-04T12:01:00Z", notified=["a@acme.example", "b@acme.example"])
    ]


def test_a_contact_added_before_the_deadline_must_be_told_too(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)
    send_due(db, settings, lambda: T1)
    catalogue.add_contact(db, NOW + timedelta(days=1), "acme", "new@acme.example")
    assert report(db, AFTER)[0]["reasons"] == [not_sent("new@acme.example")]
    # The next planning run tells the new contact, in time.
    plan_notices(db, NOW + timedelta(days=2), settings)
    send_due(db, settings, lambda: NOW + timedelta(days=2))
    assert report(db, AFTER)[0]["state"] == "noticed"


def _override(db: Database, **fields: Any) -> None:
    with db.transaction() as session:
        product = session.scalar(select(Product.id).where(Product.key == "pe"))
        customer = session.scalar(select(Customer.id).where(Customer.key == "acme"))
        assert product is not None and customer is not None
        session.add(Override(product_id=product, occurrence_id=FIRST, customer_id=customer, reason="r", **fields))


def test_a_moved_occurrence_needs_a_notice_at_its_new_times(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)
    send_due(db, settings, lambda: T1)
    new_start = datetime(2027, 2, 9, 7, tzinfo=UTC)
    _override(db, action="move", new_start=new_start, new_end=new_start + timedelta(hours=6), created_at=NOW)
    moved = {"status": "moved", "start": "2027-02-09T07:00:00Z", "end": "2027-02-09T13:00:00Z", "sequence": 1}
    deadline = "2027-01-10T07:00:00Z"
    assert report(db, AFTER) == [
        first_item(**moved, deadline=deadline, state="violated", reasons=[not_sent(c) for c in CONTACTS])
    ]
    with db.transaction() as session:
        item = find_occurrence(session, FIRST, "acme")
        assert item is not None
        assert enqueue_change_notices(session, NOW, settings, [item], "update", "moved two hours later") == 3
    send_due(db, settings, lambda: NOW + timedelta(minutes=5))
    assert report(db, AFTER) == [
        first_item(**moved, deadline=deadline, noticed_at="2027-01-04T12:05:00Z", notified=list(CONTACTS))
    ]


def test_waived_and_exempt(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    new_start = datetime(2027, 2, 9, 8, tzinfo=UTC)
    _override(
        db,
        action="move",
        new_start=new_start,
        new_end=new_start + timedelta(hours=2),
        waived_reason="security patch",
        created_at=FIRST_DEADLINE + timedelta(days=1),
    )
    [waived] = report(db, AFTER)
    assert (waived["state"], waived["note"], waived["deadline"]) == ("waived", "security patch", "2027-01-10T08:00:00Z")
    _override(
        db,
        action="move",
        new_start=new_start,
        new_end=new_start + timedelta(hours=2),
        customer_consent=True,
        created_at=FIRST_DEADLINE + timedelta(days=2),
    )
    [exempt] = report(db, AFTER)
    assert (exempt["state"], exempt["deadline"], exempt["note"]) == ("exempt", None, "moved at the customer's request")
    with db.transaction() as session:
        product = session.scalar(select(Product.id).where(Product.key == "pe"))
        assert product is not None
        start = datetime(2027, 2, 9, 20, tzinfo=UTC)
        session.add(
            Unplanned(
                product_id=product,
                number=1,
                start=start,
                end=start + timedelta(hours=1),
                reason="disk failure",
                sequence=0,
                declared_at=start,
                updated_at=start,
            )
        )
    states = [(i["occurrence"], i["kind"], i["state"]) for i in report(db, AFTER)]
    assert states == [(FIRST, "planned", "exempt"), ("pe.unplanned-1", "unplanned", "exempt")]


def test_a_window_published_with_a_waiver_waives_only_what_could_not_be_announced(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    build(db)
    rule = WeeklyRule("pe", "wed", "America/New_York", None, None, None, days=(2,), start=time(1), end=time(2))
    catalogue.add_window(db, NOW, rule, waive_notice="published in the support guide")
    items = report(db, NOW, datetime(2027, 2, 2, tzinfo=UTC), datetime(2027, 2, 18, tzinfo=UTC), product="pe")
    assert [(i["occurrence"], i["deadline"], i["state"]) for i in items] == [
        ("pe.wed.20270203", "2027-01-04T06:00:00Z", "waived"),  # deadline before the rule existed
        ("pe.tue.20270209", "2027-01-10T05:00:00Z", "pending"),
        ("pe.wed.20270210", "2027-01-11T06:00:00Z", "pending"),
        ("pe.tue.20270216", "2027-01-17T05:00:00Z", "pending"),
        ("pe.wed.20270217", "2027-01-18T06:00:00Z", "pending"),
    ]


def test_local_rules_use_the_customers_zone_across_dst(db: Database, db_url: str, tmp_path: Path) -> None:
    catalogue.add_product(db, NOW - timedelta(days=90), "pc", "PureEngage Cloud")
    rule = WeeklyRule("pc", "early", "local", date(2027, 4, 1), None, None, days=(1,), start=time(0), end=time(6))
    catalogue.add_window(db, NOW - timedelta(days=90), rule)
    catalogue.add_customer(db, NOW - timedelta(days=90), "syd", "Sydney Pty", "Australia/Sydney", ["ops@syd.example"])
    catalogue.subscribe(db, NOW - timedelta(days=90), "syd", ["pc"])
    items = report(db, NOW, datetime(2027, 4, 4, tzinfo=UTC), datetime(2027, 4, 14, tzinfo=UTC))
    # Tue 6 April 00:00 AEST (+10) = 5 April 14:00Z; 30 days earlier, 7 March 00:00 AEDT (+11) = 6 March 13:00Z.
    assert [(i["occurrence"], i["start"], i["deadline"]) for i in items] == [
        ("pc.early.20270406.syd", "2027-04-05T14:00:00Z", "2027-03-06T13:00:00Z"),
        ("pc.early.20270413.syd", "2027-04-12T14:00:00Z", "2027-03-13T13:00:00Z"),
    ]
