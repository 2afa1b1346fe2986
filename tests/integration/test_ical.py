"""iCalendar rendering: two independent consumers agree with ``maintcal occurrences``; exact bytes.

Every feed here is parsed by recurring-ical-events (over icalendar) and by ical (allenporter), and
both must find exactly the (uid, start, end) triples that ``maintcal occurrences --json`` lists.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar

from scheduler.catalogue.apply import apply_catalogue
from scheduler.catalogue.catalogue_file import parse_catalogue
from scheduler.feeds.content import customer_feed, feed_events, horizon, product_feed
from scheduler.feeds.ical import CalendarInfo, CalendarMemo, FeedEvent, escape_text, render_calendar, render_event
from scheduler.feeds.ical_reference import build_calendar
from scheduler.occurrences.schedule import occurrences
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.feed_helpers import (
    CUSTOMERS,
    HORIZON,
    NOW,
    PRODUCTS,
    cli_occurrences,
    listed,
    load_dst_catalogue,
    utc,
    via_ical,
    via_recurring_ical_events,
)
from windows.expansion import Occurrence
from windows.schedule import Scheduled
from windows.timezones import to_local, zone_by_name

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
SETTINGS = Settings(uid_domain="maintcal.example.com", base_url="https://maint.example.com")
START, END = horizon(NOW)
DOMAIN = "@maintcal.example.com"

# (uid, start, end) that the feeds must hold: every DST change of 2027 in four zones.
DST_WINDOWS = {
    "acme-ny": [
        ("ny.late.20270313", "2027-03-14T03:00:00Z", "2027-03-14T07:30:00Z"),  # ends in the NY gap: EST offset
        ("ny.sunday.20271107", "2027-11-07T04:00:00Z", "2027-11-07T11:00:00Z"),  # 00:00-06:00 lasts 7 h
        ("ny.fallback.20271106", "2027-11-07T03:00:00Z", "2027-11-07T08:00:00Z"),  # one-off, EDT to EST
        ("everywhere.local.20270316.acme-ny", "2027-03-16T04:00:00Z", "2027-03-16T10:00:00Z"),
    ],
    "brit": [
        ("london.small-hours.20270328", "2027-03-28T00:30:00Z", "2027-03-28T01:30:00Z"),  # 1 h on spring night
        ("london.cron.20270328", "2027-03-28T01:30:00Z", "2027-03-28T02:30:00Z"),  # cron start in the gap
        ("london.small-hours.20271031", "2027-10-31T01:30:00Z", "2027-10-31T03:30:00Z"),  # moved by ops
        ("everywhere.local.20270330.brit", "2027-03-29T23:00:00Z", "2027-03-30T05:00:00Z"),
    ],
    "koala": [
        ("sydney.early.20270404", "2027-04-03T14:00:00Z", "2027-04-03T18:00:00Z"),  # AEDT to AEST: 4 h
        ("sydney.early.20271003", "2027-10-02T15:00:00Z", "2027-10-02T17:00:00Z"),  # AEST to AEDT: 2 h
        ("everywhere.local.20270302.koala", "2027-03-03T14:00:00Z", "2027-03-03T20:00:00Z"),  # its own move
        ("sydney.unplanned-1", "2027-01-10T03:00:00Z", "2027-01-10T05:00:00Z"),
    ],
    "howe": [
        ("lord-howe.night.20270403", "2027-04-03T12:00:00Z", "2027-04-03T15:45:00Z"),  # 30-minute fall back
        ("lord-howe.night.20271002", "2027-10-02T12:30:00Z", "2027-10-02T15:45:00Z"),  # ends in the 30-min gap
        ("everywhere.local.20270406.howe", "2027-04-05T13:30:00Z", "2027-04-05T19:30:00Z"),
        ("lord-howe.unplanned-2", "2027-01-12T10:00:00Z", "2027-01-12T11:00:00Z"),  # limited to howe
    ],
    "delhi": [
        ("everywhere.local.20270302.delhi", "2027-03-01T18:30:00Z", "2027-03-02T00:30:00Z"),
        ("london.cron.20270328", "2027-03-28T01:30:00Z", "2027-03-28T02:30:00Z"),
    ],
}
EVENT_COUNTS = {"acme-ny": 305, "brit": 244, "koala": 306, "howe": 184, "delhi": 306}


def render_customer(db: Database, key: str, settings: Settings = SETTINGS) -> bytes:
    with db.transaction() as session:
        return customer_feed(session, settings, key, START, END).body


def render_product(db: Database, key: str, settings: Settings = SETTINGS) -> bytes:
    with db.transaction() as session:
        return product_feed(session, settings, key, START, END).body


# -- interoperability --------------------------------------------------------------------------------


def test_customer_feeds_parse_to_exactly_the_listed_occurrences(db: Database, db_url: str) -> None:
    load_dst_catalogue(db)
    for key in CUSTOMERS:
        body = render_customer(db, key)
        expected = listed(cli_occurrences(db_url, "--customer", key, "--from", HORIZON[0], "--to", HORIZON[1]))
        assert len(expected) == EVENT_COUNTS[key]
        assert via_recurring_ical_events(body, *HORIZON) == expected, key
        assert via_ical(body) == expected, key
        for occurrence_id, start, end in DST_WINDOWS[key]:
            assert (occurrence_id + DOMAIN, start, end) in expected
    # The cancelled spring-forward Sunday is in no feed; ops' move and koala's move are.
    assert "ny.sunday.20270314" + DOMAIN not in render_customer(db, "acme-ny").decode()
    assert b"UID:everywhere.local.20270302.koala" + DOMAIN.encode() in render_customer(db, "koala")


def test_product_feeds_hold_product_wide_windows_only(db: Database, db_url: str) -> None:
    load_dst_catalogue(db)
    counts = {}
    for key in PRODUCTS:
        body = render_product(db, key)
        items = cli_occurrences(db_url, "--product", key, "--from", HORIZON[0], "--to", HORIZON[1])
        # Left out: 'local' rules (they need a customer) and unplanned windows limited to some customers.
        expected = listed([i for i in items if i["customer"] is None and i["id"] != "lord-howe.unplanned-2"])
        assert via_recurring_ical_events(body, *HORIZON) == expected, key
        assert via_ical(body) == expected, key
        counts[key] = len(expected)
    assert counts == {"ny": 122, "london": 122, "sydney": 62, "lord-howe": 61, "everywhere": 0}


def test_feed_events_carry_sequence_status_and_stamps_from_the_data(db: Database) -> None:
    load_dst_catalogue(db)
    calendar = Calendar.from_ical(render_customer(db, "koala"))
    events: dict[str, Any] = {str(e["UID"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    moved = events["everywhere.local.20270302.koala"]
    untouched = events["everywhere.local.20270309.koala"]
    unplanned = events["sydney.unplanned-1"]
    # Rules and products were written at NOW, the changes an hour (and 5 minutes) later.
    assert (moved["SEQUENCE"], moved["DTSTAMP"].dt, moved["LAST-MODIFIED"].dt) == (
        1,
        datetime(2027, 1, 4, 13, 5, tzinfo=UTC),
        datetime(2027, 1, 4, 13, 5, tzinfo=UTC),
    )
    assert (untouched["SEQUENCE"], untouched["DTSTAMP"].dt) == (0, NOW)
    assert (unplanned["SEQUENCE"], unplanned["DTSTAMP"].dt) == (0, datetime(2027, 1, 4, 13, 0, tzinfo=UTC))
    assert [str(c) for c in untouched["CATEGORIES"].cats] == ["Maintenance", "Planned", "Everywhere"]
    assert [str(c) for c in unplanned["CATEGORIES"].cats] == ["Maintenance", "Unplanned", "Sydney"]
    assert (str(untouched["TRANSP"]), str(untouched["STATUS"]), str(untouched["SUMMARY"])) == (
        "TRANSPARENT",
        "CONFIRMED",
        "Everywhere maintenance",
    )
    # A customer's feed links each event to that window's page in the customer's portal.
    assert str(untouched["URL"]) == "https://maint.example.com/portal/windows/everywhere.local.20270309.koala"
    assert str(unplanned["URL"]) == "https://maint.example.com/portal/windows/sydney.unplanned-1"
    assert str(moved["DESCRIPTION"]) == (
        "Planned maintenance window of Everywhere.\n"
        "Local time: Thu 2027-03-04 01:00 to Thu 2027-03-04 07:00 Australia/Sydney (UTC+11:00)\n"
        "UTC: 2027-03-03 14:00 to 2027-03-03 20:00\n"
        "Duration: 6h\n"
        "Moved from: Tue 2027-03-02 00:00 to Tue 2027-03-02 06:00 Australia/Sydney (UTC+11:00)\n"
        "Reason: test change\n"
        "Window: local\n"
        "Occurrence: everywhere.local.20270302.koala (revision 1)"
    )
    # Unplanned maintenance says so in its title; every event names the vendor's support address.
    assert str(unplanned["SUMMARY"]) == "Unplanned maintenance: Sydney"
    assert {str(e["ORGANIZER"]) for e in (untouched, moved, unplanned)} == {"mailto:support@example.com"}
    ny = events["ny.sunday.20271107"]
    assert str(ny["DESCRIPTION"]) == (
        "Planned maintenance window of New York, East; Tier \\1.\n"
        "Local time: Sun 2027-11-07 00:00 (UTC-04:00) to Sun 2027-11-07 06:00 (UTC-05:00) America/New_York\n"
        "Your time: Sun 2027-11-07 15:00 to Sun 2027-11-07 22:00 Australia/Sydney (UTC+11:00)\n"
        "UTC: 2027-11-07 04:00 to 2027-11-07 11:00\n"
        "Duration: 7h\n"
        "Window: sunday\n"
        "Occurrence: ny.sunday.20271107 (revision 0)"
    )
    private = Calendar.from_ical(render_customer(db, "acme-ny"))
    urls = {str(e["UID"]).split("@")[0]: str(e.get("URL")) for e in private.walk("VEVENT")}
    assert {"ny", "lord-howe"} <= {uid.split(".")[0] for uid in urls}
    assert urls == {uid: f"https://maint.example.com/portal/windows/{uid}" for uid in urls}


def test_calendar_properties(db: Database) -> None:
    load_dst_catalogue(db)
    body = render_customer(db, "brit")
    head = body.split(b"BEGIN:VEVENT")[0].decode()
    assert head == (
        "BEGIN:VCALENDAR\r\n"
        "VERSION:2.0\r\n"
        "PRODID:-//maintcal//maintcal maintenance windows//EN\r\n"
        "CALSCALE:GREGORIAN\r\n"
        "METHOD:PUBLISH\r\n"
        "DESCRIPTION:Maintenance windows for Brit\\, Ltd\\; \\\\ London (Everywhere\\, L\r\n"
        " ondon). Each event shows its window in the product's time zone and in Euro\r\n"
        " pe/London.\r\n"
        "X-WR-CALDESC:Maintenance windows for Brit\\, Ltd\\; \\\\ London (Everywhere\\, \r\n"
        " London). Each event shows its window in the product's time zone and in Eur\r\n"
        " ope/London.\r\n"
        "NAME:Brit\\, Ltd\\; \\\\ London maintenance windows\r\n"
        "X-WR-CALNAME:Brit\\, Ltd\\; \\\\ London maintenance windows\r\n"
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n"
        "UID:feed:customer:brit@maintcal.example.com\r\n"
        "X-PUBLISHED-TTL:PT1H\r\n"
    )
    parsed = IcsCalendarStream.calendar_from_ics(body.decode())
    assert (parsed.name, parsed.uid, parsed.refresh_interval, parsed.method) == (
        ["Brit, Ltd; \\ London maintenance windows"],
        "feed:customer:brit@maintcal.example.com",
        timedelta(hours=1),
        "PUBLISH",
    )
    # icalendar 7.3 reads NAME and the X-WR- properties raw (still escaped), as it writes them unescaped.
    ours = Calendar.from_ical(body)
    assert (str(ours["NAME"]), str(ours["X-WR-CALNAME"]), ours.refresh_interval) == (
        "Brit\\, Ltd\\; \\\\ London maintenance windows",
        "Brit\\, Ltd\\; \\\\ London maintenance windows",
        timedelta(hours=1),
    )


# -- bytes ---------------------------------------------------------------------------------------------


def test_lines_end_in_crlf_and_fold_at_75_octets(db: Database) -> None:
    load_dst_catalogue(db)
    for body in [render_customer(db, key) for key in CUSTOMERS] + [render_product(db, "ny")]:
        assert body.endswith(b"END:VCALENDAR\r\n")
        lines = body[:-2].split(b"\r\n")
        assert b"\n" not in b"".join(lines) and b"\r" not in b"".join(lines)
        assert max(len(line) for line in lines) <= 75
        assert any(len(line) == 75 for line in lines)  # folding happened, at the limit
        for line in lines:
            line.decode("utf-8")  # never a UTF-8 character cut in two
        assert all(not line.startswith(b"\t") for line in lines)


def test_the_same_data_renders_to_the_same_bytes_whatever_the_clock(db: Database, db_url: str) -> None:
    load_dst_catalogue(db)
    first = render_customer(db, "koala")
    again = Database.open(db_url)
    try:
        assert render_customer(again, "koala") == first
    finally:
        again.dispose()
    assert b"DTSTAMP:20270104T120000Z" in first  # the rows' own time, not the machine's clock


def test_direct_writer_equals_icalendars_own_serialisation(db: Database) -> None:
    load_dst_catalogue(db)
    with db.transaction() as session:
        items = occurrences(session, START, END, customer="koala", include_cancelled=True)
        events = feed_events(session, items, SETTINGS, viewer_zone="Australia/Sydney")
    info = CalendarInfo("feed:test@x", "Name, with; \\ all", "Desc\nline two")
    assert render_calendar(events, info, settings=SETTINGS) == build_calendar(events, info, settings=SETTINGS).to_ical()
    assert render_event(events[0], settings=SETTINGS) == build_calendar(
        events[:1], info, settings=SETTINGS
    ).to_ical().split(b"X-PUBLISHED-TTL:PT1H\r\n")[1].removesuffix(b"END:VCALENDAR\r\n")


NASTY = 'Ops, "East"; tier\\1 C:\\Net\nsecond line; ünïcødé ✓ ' + "long " * 20


def nasty_event(**changes: object) -> FeedEvent:
    zone = zone_by_name("Australia/Lord_Howe")
    start, end = utc("2027-04-03T12:00:00Z"), utc("2027-04-03T15:45:00Z")
    occ = Occurrence(
        id="p.r.20270403",
        base_id="p.r.20270403",
        product="p",
        rule="r",
        customer=None,
        start=start,
        end=end,
        timezone="Australia/Lord_Howe",
        local_start=to_local(start, zone),
        local_end=to_local(end, zone),
        local_date=date(2027, 4, 3),
    )
    item = Scheduled(occ, None, "scheduled", start, end, occ.local_start, occ.local_end, 2, None)
    event = FeedEvent(item, NASTY, utc("2027-01-02T03:04:05Z"), label=NASTY, url="https://x.example/p.ics")
    return replace(event, **changes)  # type: ignore[arg-type]


def test_escaping_round_trips_in_every_text_field() -> None:
    info = CalendarInfo("uid, with; \\ odd\nchars", NASTY, NASTY)
    body = render_calendar([nasty_event()], info, settings=SETTINGS)
    assert body == build_calendar([nasty_event()], info, settings=SETTINGS).to_ical()
    assert b"C:\\\\Net\\nsecond line\\; " in body  # backslash, newline and semicolon escaped
    ours = Calendar.from_ical(body)
    event: Any = ours.walk("VEVENT")[0]
    # NAME and X-WR-*: escaped TEXT on the wire (icalendar 7.3 and ical keep X-WR-* values raw).
    assert (str(ours["NAME"]), str(ours["X-WR-CALNAME"]), str(ours["X-WR-CALDESC"]), str(ours["UID"])) == (
        escape_text(NASTY),
        escape_text(NASTY),
        escape_text(NASTY),
        info.uid,
    )
    assert str(ours["DESCRIPTION"]) == NASTY
    assert str(event["SUMMARY"]) == NASTY + " maintenance"
    no_commas = " ".join(NASTY.replace(",", " ").split())
    assert [str(c) for c in event["CATEGORIES"].cats] == ["Maintenance", "Planned", no_commas]
    assert f"Window: r ({NASTY})" in str(event["DESCRIPTION"])
    theirs = IcsCalendarStream.calendar_from_ics(body.decode())
    parsed = theirs.events[0]
    assert (theirs.name, theirs.description, theirs.uid) == ([NASTY], [NASTY], info.uid)
    assert (parsed.summary, parsed.categories, parsed.sequence) == (
        NASTY + " maintenance",
        ["Maintenance", "Planned", no_commas],
        2,
    )
    assert parsed.description is not None and f"Window: r ({NASTY})" in parsed.description


def test_a_memo_shared_by_many_calendars_changes_no_byte(db: Database) -> None:
    """Notice attachments share one ``CalendarMemo``: every calendar is byte for byte as without it,
    also when it starts again (full) and for equal instants shown in other zones."""
    load_dst_catalogue(db)
    calendars: list[list[FeedEvent]] = []
    with db.transaction() as session:
        for key, zone in [("acme-ny", "America/New_York"), ("brit", "Europe/London"), ("koala", "Asia/Kolkata")]:
            items = occurrences(session, START, END, customer=key, include_cancelled=True)
            for viewer in (zone, "Australia/Lord_Howe", None):
                calendars.append(feed_events(session, items, SETTINGS, viewer_zone=viewer))
                calendars.append(calendars[-1][:3])  # the same events again, in a smaller calendar
    elsewhere = nasty_event()
    item = elsewhere.item
    utc_local = replace(item, local_start=item.start, local_end=item.end)  # equal instants, other offsets
    calendars.append([elsewhere, replace(elsewhere, item=utc_local), elsewhere])
    info = CalendarInfo("notice-acme@x", "Acme maintenance", "Maintenance notice for Acme")
    for size in (4096, 5):
        memo = CalendarMemo(size)
        for events in calendars:
            assert render_calendar(events, info, settings=SETTINGS, memo=memo) == render_calendar(
                events, info, settings=SETTINGS
            )


def test_cancel_calendar_for_notices(db: Database) -> None:
    load_dst_catalogue(db)
    with db.transaction() as session:
        items = [
            s
            for s in occurrences(session, START, END, customer="acme-ny", include_cancelled=True)
            if s.status == "cancelled"
        ]
        events = feed_events(session, items, SETTINGS)
    body = render_calendar(events, CalendarInfo("notice-1@x", "Cancelled", "", method="CANCEL"), settings=SETTINGS)
    calendar = Calendar.from_ical(body)
    event: Any = calendar.walk("VEVENT")[0]
    assert len(calendar.walk("VEVENT")) == 1
    assert (str(calendar["METHOD"]), str(event["UID"]), event["SEQUENCE"], str(event["STATUS"])) == (
        "CANCEL",
        "ny.sunday.20270314@maintcal.example.com",
        1,
        "CANCELLED",
    )
    assert (event["DTSTART"].dt, event["DTEND"].dt, event["DTSTAMP"].dt) == (
        utc("2027-03-14T05:00:00Z"),
        utc("2027-03-14T10:00:00Z"),
        utc("2027-01-04T13:00:00Z"),
    )
    with pytest.raises(ValueError, match="method must be one of PUBLISH, CANCEL"):
        render_calendar(events, CalendarInfo("x", "x", "", method="REQUEST"), settings=SETTINGS)


# -- golden files ---------------------------------------------------------------------------------------

GOLDEN_RANGE = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 5, tzinfo=UTC))  # both DST changes


@pytest.mark.parametrize(
    ("kind", "key"), [("customer", "thames-telecom"), ("customer", "harbour-health"), ("product", "premier-edition")]
)
def test_example_catalogue_matches_golden_file(db: Database, kind: str, key: str) -> None:
    """Set MAINTCAL_UPDATE_GOLDEN=1 to rewrite the files after an intended change, then review the diff."""
    text = (ROOT / "examples" / "catalogue.toml").read_text(encoding="utf-8")
    apply_catalogue(db, NOW, parse_catalogue(text))
    settings = Settings()
    with db.transaction() as session:
        render = customer_feed if kind == "customer" else product_feed
        body = render(session, settings, key, *GOLDEN_RANGE).body
    golden = GOLDEN / f"{key}.ics"
    if os.environ.get("MAINTCAL_UPDATE_GOLDEN") == "1":
        golden.write_bytes(body)
    assert body == golden.read_bytes()
