"""Editing the catalogue for years (issue 9 §2): retiring before the first day, withdrawn
occurrences cancelled, rules that begin when they were added, imported history, SLA reports for
periods before anything existed. Service level, on SQLite and PostgreSQL, ``now`` passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import icalendar
from sqlalchemy import select

from notifications.content import CANCEL, PUBLISH
from scheduler.catalogue import edits as catalogue
from scheduler.catalogue.apply import PlanItem, apply_catalogue
from scheduler.catalogue.catalogue_file import parse_catalogue
from scheduler.feeds.content import customer_feed, horizon, product_feed
from scheduler.feeds.tokens import issue_feed_token
from scheduler.http.app import create_app
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.occurrences.schedule import occurrences
from scheduler.reports.compliance import compliance
from scheduler.reports.outages import add_outage
from scheduler.reports.sla_report import sla_report
from scheduler.serialize import occurrence_json
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models_outbox import Delivery, DeliveryOccurrence
from tests.feed_helpers import AppClient

ADDED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)

HEAD = """
[[products]]
key = "pe"
name = "Premier"
notice_days = 30
public = true
"""
LAUNCH = """
  [[products.windows]]
  name = "launch"
  days = "tue"
  start = "00:00"
  end = "06:00"
  tz = "America/New_York"
  from = 2027-02-01
"""
WEEKLY = """
  [[products.windows]]
  name = "weekly"
  days = "thu"
  start = "00:00"
  end = "06:00"
  tz = "America/New_York"
  from = 2026-12-24
"""
CUSTOMER = """
[[customers]]
key = "acme"
name = "Acme"
tz = "Europe/London"
contacts = ["ops@acme.example"]
subscriptions = ["pe"]
"""


def settings_for(db: Database, tmp_path: Path) -> Settings:
    return Settings(database_url=str(db.engine.url), pickup_dir=tmp_path / "pickup", uid_domain="maintcal.example.com")


def apply(db: Database, now: datetime, text: str, settings: Settings) -> list[tuple[str, str, str]]:
    plan: list[PlanItem] = apply_catalogue(db, now, parse_catalogue(text), settings=settings)
    return [(i.action, i.what, i.detail) for i in plan]


def ids(
    db: Database, start: datetime, end: datetime, product: str | None = None, customer: str | None = None
) -> list[tuple[str, str, bool]]:
    with db.transaction() as session:
        listed = occurrences(session, start, end, product=product, customer=customer)
        return [(s.id, s.status, s.occurrence.imported) for s in listed]


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sent_calendars(settings: Settings) -> list[tuple[str, str, str, int]]:
    """(METHOD, STATUS, UID, SEQUENCE) of every event attached to a message written to the pickup directory."""
    found = []
    for path in settings.pickup_dir.glob("*.eml"):
        msg = message_from_bytes(path.read_bytes(), policy=default)
        part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        calendar = icalendar.Calendar.from_ical(payload)
        for event in calendar.walk("VEVENT"):
            found.append(
                (str(calendar["METHOD"]), str(event.get("STATUS")), str(event["UID"]), int(str(event["SEQUENCE"])))
            )
    return sorted(found)


def test_retiring_a_window_before_its_first_day_leaves_every_reader_working(db: Database, tmp_path: Path) -> None:
    settings = settings_for(db, tmp_path)
    assert ("add", "window pe.launch", "tue 00:00-06:00 (America/New_York)") in apply(
        db, ADDED, HEAD + LAUNCH + CUSTOMER, settings
    )
    assert ids(db, day("2027-02-01"), day("2027-02-08")) == [("pe.launch.20270202", "scheduled", False)]
    # The repro: on 2026-12-10 the file no longer has the window.
    assert apply(db, LATER, HEAD + CUSTOMER, settings) == [
        ("remove", "window pe.launch", "retired before its first day 2027-02-01: no occurrences (not in the file)"),
    ]
    [info] = catalogue.list_windows(db, "pe")
    assert (info.valid_from, info.valid_until, info.retired_before_start) == (
        date(2027, 2, 1),
        date(2026, 12, 9),
        True,
    )
    # Every reader works, and the window has no occurrences at all.
    assert ids(db, day("2026-01-01"), day("2028-01-01")) == []
    assert ids(db, day("2026-01-01"), day("2028-01-01"), customer="acme") == []
    with db.transaction() as session:
        assert b"BEGIN:VEVENT" not in customer_feed(session, settings, "acme", *horizon(LATER)).body
        assert b"BEGIN:VEVENT" not in product_feed(session, settings, "pe", *horizon(LATER)).body
    assert plan_notices(db, LATER, settings).digests == []
    assert compliance(db, LATER, day("2026-11-01"), day("2028-01-01")) == []
    assert apply(db, LATER + timedelta(days=1), HEAD + CUSTOMER, settings) == []  # idempotent, no error
    [row, product_wide] = sla_report(db, LATER, product="pe", month="2027-02")
    assert (row.result.availability_percent, row.result.windows, product_wide.result.windows) == ("100.0000", (), ())
    token = issue_feed_token(db, LATER, "acme")
    client = AppClient(create_app(settings, database=db, clock=lambda: LATER))
    try:
        for path in (f"/feeds/{token}.ics", "/products/pe.ics"):
            response = client.get(path)
            assert (response.status_code, b"BEGIN:VEVENT" in response.content) == (200, False), path
    finally:
        client.close()
    # 'window retire' of a window that has not started works too, and says what happens.
    apply(db, LATER, HEAD + LAUNCH.replace("launch", "second").replace("2027-02-01", "2027-03-01"), settings)
    retired = catalogue.retire_window(db, LATER, "pe", "second", None, settings)
    assert retired.describe("pe", "second") == "retired pe.second before its first day 2027-03-01: no occurrences"
    assert ids(db, day("2026-01-01"), day("2028-01-01")) == []


def announce_weekly(db: Database, settings: Settings, *, send: bool) -> None:
    apply(db, ADDED, HEAD + WEEKLY + CUSTOMER, settings)
    planned = plan_notices(db, ADDED, settings)
    assert [d.occurrences for d in planned.digests] == [("pe.weekly.20261224",)]
    if send:
        assert send_due(db, settings, lambda: ADDED).sent == 1


def test_announced_occurrences_that_disappear_are_cancelled(db: Database, tmp_path: Path) -> None:
    settings = settings_for(db, tmp_path)
    announce_weekly(db, settings, send=True)
    # 'from' moves past the announced occurrence of 2026-12-24.
    narrowed = WEEKLY.replace("from = 2026-12-24", "from = 2027-01-01")
    assert apply(db, LATER, HEAD + narrowed + CUSTOMER, settings) == [
        ("change", "window pe.weekly", "valid_from: datetime.date(2026, 12, 24) -> datetime.date(2027, 1, 1)"),
        ("remove", "occurrence pe.weekly.20261224", "announced to acme: cancellation queued"),
    ]
    with db.transaction() as session:
        rows = session.execute(
            select(DeliveryOccurrence.occurrence_id, DeliveryOccurrence.method, DeliveryOccurrence.sequence)
            .join(Delivery, Delivery.id == DeliveryOccurrence.delivery_id)
            .order_by(Delivery.id)
        ).all()
    assert [tuple(r) for r in rows] == [("pe.weekly.20261224", PUBLISH, 0), ("pe.weekly.20261224", CANCEL, 1)]
    assert send_due(db, settings, lambda: LATER).sent == 1
    assert sent_calendars(settings) == [
        ("CANCEL", "CANCELLED", "pe.weekly.20261224@maintcal.example.com", 1),
        ("PUBLISH", "CONFIRMED", "pe.weekly.20261224@maintcal.example.com", 0),
    ]
    # The occurrence is gone from every reader; the next run announces only what the rule still has.
    assert [d.occurrences for d in plan_notices(db, LATER, settings).digests] == [
        ("pe.weekly.20270107", "pe.weekly.20270114")
    ]
    assert ids(db, day("2026-12-01"), day("2027-01-01")) == []
    assert compliance(db, LATER, day("2026-11-01"), day("2027-01-01")) == []
    # Applying the same file again cancels nothing twice.
    assert apply(db, LATER + timedelta(hours=1), HEAD + narrowed + CUSTOMER, settings) == []


def test_retiring_an_announced_window_cancels_it_and_an_unsent_notice_is_only_dropped(
    db: Database, tmp_path: Path
) -> None:
    settings = settings_for(db, tmp_path)
    announce_weekly(db, settings, send=False)  # queued, never sent
    retired = catalogue.retire_window(db, LATER, "pe", "weekly", None, settings)
    assert [(s.id, s.customer, s.status, s.sequence) for s in retired.cancelled] == [
        ("pe.weekly.20261224", "acme", "cancelled", 1)
    ]
    assert retired.describe("pe", "weekly") == "retired pe.weekly before its first day 2026-12-24: no occurrences"
    with db.transaction() as session:
        statuses = session.scalars(select(Delivery.status).order_by(Delivery.id)).all()
    assert statuses == ["superseded"]  # nobody was told, so nobody gets a CANCEL
    assert send_due(db, settings, lambda: LATER).sent == 0


def test_a_retired_window_that_had_started_cancels_only_what_was_announced(db: Database, tmp_path: Path) -> None:
    settings = settings_for(db, tmp_path)
    announce_weekly(db, settings, send=True)
    at = datetime(2026, 12, 26, 12, 0, tzinfo=UTC)  # after the first occurrence (12-24), before 12-31
    planned = plan_notices(db, at, settings)
    announced = ("20261231", "20270107", "20270114", "20270121", "20270128")
    assert [d.occurrences for d in planned.digests] == [tuple(f"pe.weekly.{d}" for d in announced)]
    assert send_due(db, settings, lambda: at).sent == 1
    assert apply(db, at, HEAD + CUSTOMER, settings) == [
        ("remove", "window pe.weekly", "retired from 2026-12-26 (not in the file)"),
        *[("remove", f"occurrence pe.weekly.{d}", "announced to acme: cancellation queued") for d in announced],
    ]
    # What happened stays on record.
    assert ids(db, day("2026-12-01"), day("2027-03-01")) == [("pe.weekly.20261224", "scheduled", False)]


def test_a_rule_without_from_begins_when_it_was_added(db: Database, tmp_path: Path) -> None:
    settings = settings_for(db, tmp_path)
    example = Path(__file__).resolve().parents[2] / "examples" / "catalogue.toml"
    now = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
    apply(db, now, example.read_text(encoding="utf-8"), settings)
    # Nothing in the past; the first window is the next one after the catalogue was loaded.
    assert ids(db, day("2026-12-01"), now, product="premier-edition") == []
    assert ids(db, now, day("2027-01-07"), product="premier-edition") == [
        ("premier-edition.nightly.20270105", "scheduled", False),
    ]
    # A new user's first SLA report for last month: no invented downtime, and it says why.
    rows = sla_report(db, now, product="premier-edition", month="2026-12")
    assert [
        (r.customer, r.in_service, r.note, r.result.availability_percent, r.result.credit_percent) for r in rows
    ] == [
        (
            "pacific-media",
            False,
            "premier-edition was added at 2027-01-04T12:00:00Z, after 2026-12: no service to report",
            "100.0000",
            0,
        ),
        (
            "thames-telecom",
            False,
            "premier-edition was added at 2027-01-04T12:00:00Z, after 2026-12: no service to report",
            "100.0000",
            0,
        ),
        (
            None,
            False,
            "premier-edition was added at 2027-01-04T12:00:00Z, after 2026-12: no service to report",
            "100.0000",
            0,
        ),
    ]
    assert all(r.result.downtime_seconds == 0 and r.result.windows == () for r in rows)
    # The month it was added in is a month of service.
    assert [r.in_service for r in sla_report(db, now, product="premier-edition", month="2027-01")] == [True] * 3


def test_a_from_in_the_past_imports_history_that_is_listed_but_not_judged(db: Database, tmp_path: Path) -> None:
    settings = settings_for(db, tmp_path)
    now = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
    history = HEAD + WEEKLY.replace("from = 2026-12-24", 'from = 2026-12-01\n  waive_notice = "since 2020"') + CUSTOMER
    apply(db, now, history, settings)
    listed = ids(db, day("2026-12-01"), day("2027-01-15"), customer="acme")
    assert listed == [
        ("pe.weekly.20261203", "scheduled", True),
        ("pe.weekly.20261210", "scheduled", True),
        ("pe.weekly.20261217", "scheduled", True),
        ("pe.weekly.20261224", "scheduled", True),
        ("pe.weekly.20261231", "scheduled", True),
        ("pe.weekly.20270107", "scheduled", False),
        ("pe.weekly.20270114", "scheduled", False),
    ]
    with db.transaction() as session:
        first = occurrences(session, day("2026-12-03"), day("2026-12-04"), customer="acme")[0]
    assert occurrence_json(first, "maintcal.example.com")["imported"] is True
    states = {(c.item.id, c.verdict.state, c.verdict.note) for c in compliance(db, now, day("2026-12-01"), now)}
    assert states == {
        (f"pe.weekly.2026{md}", "exempt", "imported history (before the rule was added)")
        for md in ("1203", "1210", "1217", "1224", "1231")
    }
    [row, product_wide] = sla_report(db, now, product="pe", month="2026-12")
    assert (row.in_service, row.note, row.result.excluded_seconds, row.result.downtime_seconds) == (True, None, 0, 0)
    assert (product_wide.result.excluded_seconds, product_wide.result.windows) == (0, ())
    # ... unless an outage says so.
    add_outage(db, now, "pe", day("2026-12-03T06:00:00"), day("2026-12-03T07:00:00"))
    [row, product_wide] = sla_report(db, now, product="pe", month="2026-12")
    assert (row.result.downtime_seconds, product_wide.result.downtime_seconds) == (3600, 3600)
