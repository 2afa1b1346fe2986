"""Shared by the feed tests: a catalogue full of DST edge cases, the two feed consumers, the CLI.

now = Monday 2027-01-04 12:00Z; the feed horizon is [2026-12-04, 2028-02-04). The catalogue has
windows in New York, London, Sydney and Lord Howe that touch every 2027 DST change of their zone,
windows crossing midnight, a one-off across the New York fall-back night, and a ``local`` rule
for customers in five zones. Changes: a product-wide cancel and move, a customer's own move, an
unplanned window for everyone and one limited to a single customer.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import recurring_ical_events
from click.testing import CliRunner, Result
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar
from sqlalchemy import select

from cli import maintcal
from scheduler.catalogue import edits as catalogue
from scheduler.store.db import Database
from scheduler.store.models import Customer, Override, Product, Unplanned, UnplannedCustomer
from scheduler.store.repository import bump_version
from windows.rulespec import RuleOptions, build_rule

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
HORIZON = ("2026-12-04", "2028-02-04")
WAIVED = "test catalogue"

Window = tuple[str, str, str]  # uid, start, end (UTC, "Z")

PRODUCTS: dict[str, tuple[str, bool, list[tuple[str, str, dict[str, Any]]]]] = {
    # key: (name, public, [(rule, tz, options)])
    "ny": (
        "New York, East; Tier \\1",
        True,
        [
            ("sunday", "America/New_York", {"days": "sun", "start": "00:00", "end": "06:00"}),
            ("late", "America/New_York", {"days": "sat", "start": "22:00", "end": "02:30"}),
            ("fallback", "America/New_York", {"once_start": "2027-11-06T23:00", "once_end": "2027-11-07T03:00"}),
        ],
    ),
    "london": (
        "London",
        True,
        [
            ("small-hours", "Europe/London", {"days": "sun", "start": "00:30", "end": "02:30"}),
            ("cron", "Europe/London", {"cron": "30 1 * * 0", "duration": "1h"}),
        ],
    ),
    "sydney": ("Sydney", True, [("early", "Australia/Sydney", {"days": "sun", "start": "01:00", "end": "04:00"})]),
    "lord-howe": (
        "Lord Howe",
        False,
        [("night", "Australia/Lord_Howe", {"days": "sat", "start": "23:00", "end": "02:15"})],
    ),
    "everywhere": ("Everywhere", True, [("local", "local", {"days": "tue,thu", "start": "00:00", "end": "06:00"})]),
}

CUSTOMERS = {
    "acme-ny": ("Acme NY", "America/New_York", ["everywhere", "ny", "lord-howe"]),
    "brit": ("Brit, Ltd; \\ London", "Europe/London", ["everywhere", "london"]),
    "koala": ("Koala Pty", "Australia/Sydney", ["everywhere", "sydney", "ny"]),
    "howe": ("Howe Island", "Australia/Lord_Howe", ["everywhere", "lord-howe"]),
    "delhi": ("Delhi Pvt", "Asia/Kolkata", ["everywhere", "london", "sydney"]),
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def z(instant: Any) -> str:
    assert isinstance(instant, datetime)
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_dst_catalogue(db: Database, now: datetime = NOW) -> None:
    """The catalogue described above, through the catalogue services, plus changes as rows.

    Products and windows are added 40 days before ``now`` (a window's occurrences begin when it is
    added), so the feed horizon's 31 days back hold events too.
    """
    added = now - timedelta(days=40)
    for key, (name, public, rules) in PRODUCTS.items():
        catalogue.add_product(db, added, key, name, 30, public=public)
        for rule_name, tz, options in rules:
            rule, _ = build_rule(RuleOptions(key, rule_name, tz, **options))
            catalogue.add_window(db, added, rule, waive_notice=WAIVED)
    for key, (name, tz, products) in CUSTOMERS.items():
        catalogue.add_customer(db, now, key, name, tz, [f"ops@{key}.example"])
        catalogue.subscribe(db, now, key, products)
    later = now + timedelta(hours=1)
    with db.transaction() as session:
        ids = {p.key: p.id for p in session.scalars(select(Product))}
        customers = {c.key: c.id for c in session.scalars(select(Customer))}
        session.add_all(
            [
                # NY, Sunday 2027-03-14 (spring forward): cancelled for everyone.
                _override(ids["ny"], "ny.sunday.20270314", None, "cancel", None, None, later),
                # London's small hours on the clocks-back night, moved an hour later.
                _override(
                    ids["london"],
                    "london.small-hours.20271031",
                    None,
                    "move",
                    utc("2027-10-31T01:30:00Z"),
                    utc("2027-10-31T03:30:00Z"),
                    later,
                ),
                # Koala asked to move its own 'local' window of Tuesday 2027-03-02.
                _override(
                    ids["everywhere"],
                    "everywhere.local.20270302",
                    customers["koala"],
                    "move",
                    utc("2027-03-03T14:00:00Z"),
                    utc("2027-03-03T20:00:00Z"),
                    later + timedelta(minutes=5),
                ),
            ]
        )
        for number, start, hours, only in (
            (1, "2027-01-10T03:00:00Z", 2, None),
            (2, "2027-01-12T10:00:00Z", 1, "howe"),
        ):
            row = Unplanned(
                product_id=ids["lord-howe" if only else "sydney"],
                number=number,
                start=utc(start),
                end=utc(start) + timedelta(hours=hours),
                reason="disk replacement, rack 4; urgent",
                sequence=0,
                declared_at=later,
                updated_at=later,
            )
            session.add(row)
            session.flush()
            if only:
                session.add(UnplannedCustomer(unplanned_id=row.id, customer_id=customers[only]))
        bump_version(session, later + timedelta(minutes=5))


def _override(
    product_id: int,
    occurrence_id: str,
    customer_id: int | None,
    action: str,
    start: datetime | None,
    end: datetime | None,
    at: datetime,
) -> Override:
    return Override(
        product_id=product_id,
        occurrence_id=occurrence_id,
        customer_id=customer_id,
        action=action,
        new_start=start,
        new_end=end,
        reason="test change",
        customer_consent=customer_id is not None,
        created_at=at,
    )


# -- the two consumers ------------------------------------------------------------------------------


def via_recurring_ical_events(body: bytes, start: str, end: str) -> list[Window]:
    """What recurring-ical-events (over icalendar's parser) finds in [start, end)."""
    events = recurring_ical_events.of(Calendar.from_ical(body)).between(
        utc(start + "T00:00:00Z"), utc(end + "T00:00:00Z")
    )
    return sorted((str(e["UID"]), z(e["DTSTART"].dt), z(e["DTEND"].dt)) for e in events)


def via_ical(body: bytes) -> list[Window]:
    """What ical (allenporter), a strict independent parser, finds."""
    calendar = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    return sorted((str(e.uid), z(e.dtstart), z(e.dtend)) for e in calendar.events)


# -- the CLI --------------------------------------------------------------------------------------------


def cli(db_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(maintcal, ["--db", db_url, *args], env=env)


def cli_occurrences(db_url: str, *args: str) -> list[dict[str, Any]]:
    result = cli(db_url, "occurrences", *args, "--json")
    assert result.exit_code == 0, result.output
    items: list[dict[str, Any]] = json.loads(result.stdout)
    return items


def listed(items: list[dict[str, Any]]) -> list[Window]:
    return sorted((i["uid"], i["start"], i["end"]) for i in items)


# -- the ASGI app, driven synchronously -------------------------------------------------------------


class AppClient:
    """httpx over the app's ASGI interface (no network), with a blocking API for plain tests.

    starlette's TestClient is deprecated with httpx in starlette 1.x; this is the same idea.
    """

    def __init__(self, app: Any, headers: dict[str, str] | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers
        )
        self.headers = self._client.headers

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, path, headers=headers))

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("GET", path, headers)

    def head(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("HEAD", path, headers)

    def post(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("POST", path, headers)

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()

    def __enter__(self) -> AppClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
