"""The last decision wins: sequences of changes to one occurrence compose in commit order (issue 16).

Each case runs a sequence of decisions on ``p.nightly.20270302`` (Tue 2027-03-02 05:00Z-08:00Z)
or on one unplanned window, twice: with a clock that steps forward an hour between decisions, and
with a clock that steps *back* one second before each decision. The outcome must not depend on
the clocks: every customer view, the feed, ``compliance`` and the notices queued in the outbox
(read back from the stored MIME: the .ics METHOD, DTSTART, DTEND, SEQUENCE and the times in the
text) are checked exactly.

Customers: ``a`` (Europe/London) and ``b`` (UTC), one contact each, both subscribe to ``p``.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select

from scheduler.catalogue import edits as catalogue
from scheduler.feeds.content import customer_feed
from scheduler.occurrences import changes, reschedule, unplanned
from scheduler.occurrences.schedule import find_occurrence
from scheduler.reports.compliance import compliance
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, Override
from scheduler.store.models_outbox import Delivery, Notice
from tests.integration.changes_fixtures import NOW, utc
from windows.rulespec import RuleOptions, build_rule
from windows.timezones import format_utc

OCC = "p.nightly.20270302"
CUSTOMERS = ("a", "b")
# Times: ORIGINAL the rule's own, X and Y ops' moves (weekend days), Z a customer's reschedule (Wed).
ORIGINAL = ("2027-03-02T05:00:00Z", "2027-03-02T08:00:00Z")
X = ("2027-03-06T05:00:00Z", "2027-03-06T08:00:00Z")
Y = ("2027-03-07T05:00:00Z", "2027-03-07T08:00:00Z")
Z = ("2027-03-03T05:00:00Z", "2027-03-03T08:00:00Z")
U0 = ("2027-01-05T00:00:00Z", "2027-01-05T02:00:00Z")  # unplanned p.unplanned-1 as declared
U2 = ("2027-01-05T00:00:00Z", "2027-01-05T03:00:00Z")  # ... after two extensions of 30 min

Step = tuple[str, ...]  # ("move", customer or "", start) | ("cancel", customer or "") | ("approve", customer, start)
View = tuple[str, tuple[str, str], int, str]  # status, (start, end), sequence, compliance state
Sent = tuple[str, str, str, tuple[str, str], int, str]  # customer, kind, METHOD, (start, end), SEQUENCE, status


@dataclass(frozen=True)
class Case:
    name: str
    steps: list[Step]
    views: dict[str, View]
    notices: list[Sent]


CASES = [
    Case(
        "move then move again, for everyone",
        [("move", "", X[0]), ("move", "", Y[0])],
        {"a": ("moved", Y, 2, "pending"), "b": ("moved", Y, 2, "pending")},
        [
            ("a", "update", "PUBLISH", X, 1, "superseded"),
            ("b", "update", "PUBLISH", X, 1, "superseded"),
            ("a", "update", "PUBLISH", Y, 2, "queued"),
            ("b", "update", "PUBLISH", Y, 2, "queued"),
        ],
    ),
    Case(
        "move then move again, for one customer",
        [("move", "a", X[0]), ("move", "a", Y[0])],
        {"a": ("moved", Y, 2, "pending"), "b": ("scheduled", ORIGINAL, 0, "pending")},
        [("a", "update", "PUBLISH", X, 1, "superseded"), ("a", "update", "PUBLISH", Y, 2, "queued")],
    ),
    Case(
        "a customer's move, then a product-wide move: the later product-wide one wins for everyone",
        [("move", "a", X[0]), ("move", "", Y[0])],
        {"a": ("moved", Y, 2, "pending"), "b": ("moved", Y, 1, "pending")},
        [
            ("a", "update", "PUBLISH", X, 1, "superseded"),
            ("a", "update", "PUBLISH", Y, 2, "queued"),
            ("b", "update", "PUBLISH", Y, 1, "queued"),
        ],
    ),
    Case(
        "a product-wide move, then a customer's move: that customer's wins for that customer only",
        [("move", "", X[0]), ("move", "a", Y[0])],
        {"a": ("moved", Y, 2, "pending"), "b": ("moved", X, 1, "pending")},
        [
            ("a", "update", "PUBLISH", X, 1, "superseded"),
            ("b", "update", "PUBLISH", X, 1, "queued"),
            ("a", "update", "PUBLISH", Y, 2, "queued"),
        ],
    ),
    Case(
        "move then cancel: cancelled at the moved times",
        [("move", "", X[0]), ("cancel", "")],
        {"a": ("cancelled", X, 2, ""), "b": ("cancelled", X, 2, "")},
        [
            ("a", "update", "PUBLISH", X, 1, "superseded"),
            ("b", "update", "PUBLISH", X, 1, "superseded"),
            ("a", "cancel", "CANCEL", X, 2, "queued"),
            ("b", "cancel", "CANCEL", X, 2, "queued"),
        ],
    ),
    Case(
        "a customer's cancel, then a product-wide move: the later product-wide move names that customer too",
        [("cancel", "a"), ("move", "", X[0])],
        {"a": ("moved", X, 2, "pending"), "b": ("moved", X, 1, "pending")},
        [
            ("a", "cancel", "CANCEL", ORIGINAL, 1, "queued"),
            ("a", "update", "PUBLISH", X, 2, "queued"),
            ("b", "update", "PUBLISH", X, 1, "queued"),
        ],
    ),
    Case(
        "a reschedule approval after a product-wide move",
        [("move", "", X[0]), ("approve", "a", Z[0])],
        {"a": ("moved", Z, 2, "exempt"), "b": ("moved", X, 1, "pending")},
        [
            ("a", "update", "PUBLISH", X, 1, "superseded"),
            ("b", "update", "PUBLISH", X, 1, "queued"),
            ("a", "reschedule-approved", "PUBLISH", Z, 2, "queued"),
        ],
    ),
    Case(
        "a product-wide move after a reschedule approval",
        [("approve", "a", Z[0]), ("move", "", X[0])],
        {"a": ("moved", X, 2, "pending"), "b": ("moved", X, 1, "pending")},
        [
            ("a", "reschedule-approved", "PUBLISH", Z, 1, "superseded"),
            ("a", "update", "PUBLISH", X, 2, "queued"),
            ("b", "update", "PUBLISH", X, 1, "queued"),
        ],
    ),
    Case(
        "unplanned maintenance extended twice",
        [("declare",), ("extend", "30m"), ("extend", "30m")],
        {"a": ("scheduled", U2, 2, "exempt"), "b": ("scheduled", U2, 2, "exempt")},
        # Each decision queues the notice and the 'started' / 'finished' notices (issue 15) at its own
        # times and sequence, and supersedes the previous decision's three.
        [
            (customer, kind, "PUBLISH", times, sequence, status)
            for times, sequence, status in (
                (U0, 0, "superseded"),
                (("2027-01-05T00:00:00Z", "2027-01-05T02:30:00Z"), 1, "superseded"),
                (U2, 2, "queued"),
            )
            for kind in ("unplanned", "started", "finished")
            for customer in ("a", "b")
        ],
    ),
]

# The clock of each decision: forward an hour each time, or back a second each time.
CLOCKS = {"clock forward": timedelta(hours=1), "clock steps back": timedelta(seconds=-1)}


@pytest.fixture
def two_customers(db: Database) -> Database:
    catalogue.add_product(db, NOW, "p", "Product", 30)
    rule, _ = build_rule(RuleOptions("p", "nightly", "America/New_York", days="tue,thu", start="00:00", end="03:00"))
    catalogue.add_window(db, NOW, rule, waive_notice="test catalogue")
    catalogue.add_customer(db, NOW, "a", "A", "Europe/London", ["ops@a.example"])
    catalogue.add_customer(db, NOW, "b", "B", "UTC", ["ops@b.example"])
    catalogue.subscribe(db, NOW, "a", ["p"])
    catalogue.subscribe(db, NOW, "b", ["p"])
    return db


def _run(db: Database, settings: Settings, step: Step, now: datetime) -> None:
    action, *args = step
    if action in ("move", "cancel"):
        customer = args[0] or None
        start = utc(args[1]) if action == "move" else None
        changes.change_occurrence(
            db, now, settings, OCC, action=action, reason="ops", customer=customer, new_start=start
        )
    elif action == "approve":
        request = reschedule.request(db, now, customer=args[0], occurrence_id=OCC, proposed_start=utc(args[1]))
        reschedule.approve(db, now, settings, request.id)
    elif action == "declare":
        start, end = utc(U0[0]), utc(U0[1])
        unplanned.declare(db, now, settings, "p", customers=[], start=start, end=end, reason="failover")
    else:
        unplanned.extend(db, now, settings, "p.unplanned-1", by=timedelta(minutes=30), until=None)


def _view(db: Database, customer: str, occurrence_id: str) -> tuple[str, tuple[str, str], int]:
    with db.transaction() as session:
        found = find_occurrence(session, occurrence_id, customer)
    assert found is not None
    return found.status, (format_utc(found.start), format_utc(found.end)), found.sequence


def _feed(db: Database, settings: Settings, customer: str, occurrence_id: str) -> tuple[tuple[str, str], int] | None:
    with db.transaction() as session:
        body = customer_feed(session, settings, customer, utc("2027-01-01T00:00:00Z"), utc("2027-04-01T00:00:00Z"))
    uid = f"{occurrence_id}@{settings.uid_domain}"
    events = [e for e in Calendar.from_ical(body.body).walk("VEVENT") if str(e["UID"]) == uid]
    if not events:
        return None
    (event,) = events
    return (format_utc(event.decoded("DTSTART")), format_utc(event.decoded("DTEND"))), int(str(event["SEQUENCE"]))


def _compliance(db: Database, customer: str, occurrence_id: str, now: datetime) -> tuple[str, str, str, int, str]:
    items = compliance(db, now, utc("2027-01-01T00:00:00Z"), utc("2027-04-01T00:00:00Z"), customer=customer)
    found = [c.to_json() for c in items if c.item.id == occurrence_id]
    if not found:
        return "", "", "", 0, ""
    (item,) = found
    return item["status"], item["start"], item["end"], item["sequence"], item["state"]


_TEXT_TIMES = re.compile(r"^  \w{3} (\S+ \S+) UTC to \w{3} (\S+ \S+) UTC \(", re.MULTILINE)


def _queued(db: Database) -> list[Sent]:
    """Every notice in the outbox, in order, as its stored message tells it."""
    with db.transaction() as session:
        rows = session.execute(
            select(Customer.key, Notice.kind, Delivery.mime, Delivery.status)
            .join(Notice, Notice.id == Delivery.notice_id)
            .join(Customer, Customer.id == Notice.customer_id)
            .order_by(Delivery.id)
        ).all()
    sent = []
    for key, kind, mime, status in rows:
        message = email.message_from_bytes(mime)
        parts = {p.get_content_type(): p for p in message.walk() if not p.is_multipart()}
        calendar = Calendar.from_ical(_payload(parts["text/calendar"]))
        (event,) = calendar.walk("VEVENT")
        start, end = format_utc(event.decoded("DTSTART")), format_utc(event.decoded("DTEND"))
        # The text announces the same (new) time as the attachment.
        text = _payload(parts["text/plain"]).decode()
        (shown,) = _TEXT_TIMES.findall(text)
        assert shown == (f"{start[:10]} {start[11:16]}", f"{end[:10]} {end[11:16]}")
        sent.append((key, kind, str(calendar["METHOD"]), (start, end), int(str(event["SEQUENCE"])), status))
    return sent


def _payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


@pytest.mark.parametrize("clock", CLOCKS.values(), ids=CLOCKS.keys())
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_last_decision_wins(
    two_customers: Database, db_url: str, tmp_path: Path, case: Case, clock: timedelta
) -> None:
    db = two_customers
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "outbox", uid_domain="test.example")
    now = NOW
    for step in case.steps:
        _run(db, settings, step, now)
        now += clock
    occurrence_id = "p.unplanned-1" if case.steps[0] == ("declare",) else OCC
    for customer in CUSTOMERS:
        status, times, sequence, state = case.views[customer]
        assert _view(db, customer, occurrence_id) == (status, times, sequence)
        assert _feed(db, settings, customer, occurrence_id) == (None if status == "cancelled" else (times, sequence))
        listed = (status, *times, sequence, state) if status != "cancelled" else ("", "", "", 0, "")
        assert _compliance(db, customer, occurrence_id, NOW) == listed
    assert _queued(db) == case.notices


def test_decisions_are_numbered_per_occurrence_in_commit_order(
    two_customers: Database, db_url: str, tmp_path: Path
) -> None:
    db = two_customers
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "outbox", uid_domain="test.example")
    for i, step in enumerate([("move", "", X[0]), ("move", "a", Y[0]), ("cancel", "b")]):
        _run(db, settings, step, NOW - timedelta(seconds=i))
    other = "p.nightly.20270304"  # another occurrence: numbered on its own
    changes.change_occurrence(db, NOW, settings, other, action="cancel", reason="ops")
    with db.transaction() as session:
        rows = session.execute(
            select(Override.occurrence_id, Override.decision, Override.created_at).order_by(Override.id)
        )
        assert [tuple(r) for r in rows] == [
            (OCC, 1, NOW),
            (OCC, 2, NOW - timedelta(seconds=1)),
            (OCC, 3, NOW - timedelta(seconds=2)),
            (other, 1, NOW),
        ]
