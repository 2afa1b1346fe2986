"""The portal's pages through the real ASGI app, on SQLite and PostgreSQL: exact local and UTC
times (a DST night included), a move request from the form to approval, resetting the feed
address, and another customer's window answering 404.

Customer ``thames`` (Europe/London) at 2027-01-04 12:00Z: ``pe`` is Tue & Thu 00:00-03:00 New York,
``pc`` Tue 00:00-06:00 in the customer's zone, ``dst`` Sun 00:30-03:30 London (see portal_helpers).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.occurrences import reschedule, unplanned
from scheduler.occurrences.changes import change_occurrence
from scheduler.portal import strings
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.portal_helpers import (
    Clock,
    csrf,
    mails,
    portal_client,
    portal_settings,
    sign_in,
    text,
    window_attrs,
    window_rows,
)

WINDOW = "/portal/windows/pe.nightly.20270302"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return portal_settings(tmp_path, db_url)


@pytest.fixture
def web(db: Database, settings: Settings, clock: Clock) -> Iterator[ApiClient]:
    client = portal_client(db, settings, clock)
    sign_in(client, db, settings, clock, "a@thames.example")
    yield client
    client.close()


def test_upcoming_shows_exact_local_and_utc_times(web: ApiClient, clock: Clock) -> None:
    page = web.call("GET", "/portal/")
    assert page.status_code == 200
    rows = window_rows(page.text)
    assert rows["pe.nightly.20270302"] == [
        "Tue 2 Mar 2027 05:00 GMT – 08:00 GMT",
        "2027-03-02 05:00 – 08:00 UTC",
        "Premier Edition",
        "Planned",
        "Scheduled",
        "Not announced yet",
    ]
    assert rows["pe.nightly.20270316"][:2] == ["Tue 16 Mar 2027 04:00 GMT – 07:00 GMT", "2027-03-16 04:00 – 07:00 UTC"]
    assert rows["pc.early.20270302.thames"][:3] == [
        "Tue 2 Mar 2027 00:00 GMT – 06:00 GMT",
        "2027-03-02 00:00 – 06:00 UTC",
        "PureEngage Cloud",
    ]
    # The night the clocks go forward: 00:30 GMT to 03:30 BST is two hours.
    night = ["Sun 28 Mar 2027 00:30 GMT – 03:30 BST", "2027-03-28 00:30 – 02:30 UTC"]
    assert rows["dst.sunday.20270328"][:2] == night
    after = ["Sun 4 Apr 2027 00:30 BST – 03:30 BST", "2027-04-03 23:30 – 2027-04-04 02:30 UTC"]
    assert rows["dst.sunday.20270404"][:2] == after
    attrs = window_attrs(page.text)
    assert attrs["dst.sunday.20270328"] == ("2027-03-28T00:30:00Z", "2027-03-28T02:30:00Z")
    assert attrs["pe.nightly.20270302"] == ("2027-03-02T05:00:00Z", "2027-03-02T08:00:00Z")
    assert "pc.early.20270302.harbour" not in attrs and "harbour" not in page.text
    # Grouped by week (Monday first), 13 months ahead and not beyond.
    week = page.text.index("Week of Mon 22 Mar 2027")
    assert week < page.text.index('data-occurrence="dst.sunday.20270328"') < page.text.index("Week of Mon 29 Mar 2027")
    assert 'data-occurrence="pe.nightly.20280201"' in page.text
    assert 'data-occurrence="pe.nightly.20280208"' not in page.text
    for _ in range(23):  # to 2027-01-05 07:10Z, used every 50 minutes (the session stays alive)
        clock.advance(minutes=50)
        assert web.call("GET", "/portal/contacts").status_code == 200
    assert "pe.nightly.20270105" in window_attrs(web.call("GET", "/portal/").text)  # 05:00-08:00Z: on now
    clock.advance(minutes=50)  # 08:00Z: the same day's cached rows, without the window that ended
    later = window_attrs(web.call("GET", "/portal/").text)
    assert "pe.nightly.20270105" not in later and "pe.nightly.20280203" in later
    utc_first = window_rows(web.call("GET", "/portal/?utc=1").text)
    assert utc_first["dst.sunday.20270328"][:2] == night[::-1]


def test_upcoming_shows_the_proof_of_notice(web: ApiClient, db: Database, settings: Settings, clock: Clock) -> None:
    before = window_rows(web.call("GET", "/portal/").text)  # and cached: what is sent must show anyway
    assert before["pe.nightly.20270202"][5] == "Not announced yet"
    plan_notices(db, clock.now, settings)
    assert window_rows(web.call("GET", "/portal/").text) == before  # queued is not told
    send_due(db, settings, clock)
    rows = window_rows(web.call("GET", "/portal/").text)
    assert rows["pe.nightly.20270202"][5] == "Announced on Mon 4 Jan 2027 to 2 contacts"
    assert rows["pe.nightly.20270302"][5] == "Not announced yet"
    announce = [m for m in mails(settings.pickup_dir) if m["X-Maintcal-Notice"] == "announce"]
    assert sorted(m["To"] for m in announce) == [
        "a@thames.example",
        "b@thames.example",
        "ops@harbour.example",
        "ops@nile.example",
    ]
    for mail in announce:
        plain = mail.get_body(("plain",))
        assert plain is not None and "ask for a move: http://127.0.0.1:8000/portal/\r\n" in plain.get_content()
    detail = text(web.call("GET", "/portal/windows/pe.nightly.20270202").text)
    assert "announce, Mon 4 Jan 2027 12:00 GMT, to a@thames.example, b@thames.example" in detail


def test_a_move_request_from_the_form_to_approval(
    web: ApiClient, db: Database, settings: Settings, clock: Clock
) -> None:
    page = web.call("GET", WINDOW)
    assert page.status_code == 200
    assert (
        "A new start between Tue 16 Feb 2027 05:00 GMT and Tue 16 Mar 2027 05:00 GMT (Europe/London); "
        "the window keeps its length of 180 minutes." in text(page.text)
    )
    token = csrf(page.text)
    bad = web.call("POST", f"{WINDOW}/reschedule", data={"csrf": token, "start": "tomorrow", "reason": "close"})
    assert bad.status_code == 422
    assert strings.MOVE_BAD_START.format(example="2027-03-16 22:00") in text(bad.text)
    assert 'value="tomorrow"' in bad.text and ">close</textarea>" in bad.text
    far = web.call("POST", f"{WINDOW}/reschedule", data={"csrf": token, "start": "2027-04-20T05:00", "reason": "x"})
    assert far.status_code == 422
    assert "the new start must lie within 14 days of the original start 2027-03-02T05:00:00Z" in text(far.text)
    assert 'value="2027-04-20T05:00"' in far.text
    form = {"csrf": token, "start": "2027-03-03T05:00", "reason": "close"}
    sent = web.call("POST", f"{WINDOW}/reschedule", data=form)
    assert (sent.status_code, sent.headers["location"]) == (303, f"{WINDOW}?requested=1")
    pending = web.call("GET", sent.headers["location"])
    assert strings.MOVE_SENT.format(id=1) in text(pending.text)
    assert 'data-request="1" data-status="pending"' in pending.text
    listed = window_rows(web.call("GET", "/portal/").text)["pe.nightly.20270302"]
    assert listed[0] == "Tue 2 Mar 2027 05:00 GMT – 08:00 GMT"
    requests = text(web.call("GET", "/portal/requests").text)
    asked = "a@thames.example Mon 4 Jan 2027 12:00 GMT"
    assert f"1 pe.nightly.20270302 Wed 3 Mar 2027 05:00 GMT {asked} Pending" in requests
    twice = web.call("POST", f"{WINDOW}/reschedule", data={"csrf": token, "start": "2027-03-03T06:00"})
    assert twice.status_code == 409 and "request 1 for 'pe.nightly.20270302' is still pending" in text(twice.text)

    reschedule.approve(db, clock.now, settings, 1, note="fine")
    moved = web.call("GET", WINDOW)
    assert 'data-request="1" data-status="approved"' in moved.text
    assert window_attrs(moved.text)["pe.nightly.20270302"] == ("2027-03-03T05:00:00Z", "2027-03-03T08:00:00Z")
    row = window_rows(web.call("GET", "/portal/").text)["pe.nightly.20270302"]
    assert row[:5] == [
        "Wed 3 Mar 2027 05:00 GMT – 08:00 GMT",
        "2027-03-03 05:00 – 08:00 UTC",
        "Premier Edition",
        "Planned",
        "Moved from Tue 2 Mar 2027 05:00 GMT",
    ]
    assert "Approved" in text(web.call("GET", "/portal/requests").text)


def test_reset_the_feed_address(web: ApiClient, db: Database, settings: Settings, clock: Clock) -> None:
    page = web.call("GET", "/portal/subscribe")
    assert page.status_code == 200 and strings.SUBSCRIBE_HIDDEN in text(page.text)
    unconfirmed = web.call("POST", "/portal/subscribe/reset", data={"csrf": csrf(page.text)})
    assert unconfirmed.status_code == 422 and strings.RESET_NEEDS_CONFIRM in text(unconfirmed.text)
    first = web.call("POST", "/portal/subscribe/reset", data={"csrf": csrf(page.text), "confirm": "yes"})
    assert first.status_code == 200
    old = _feed_path(first.text)
    assert 'href="webcal://127.0.0.1:8000/feeds/' in first.text
    assert "https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2F127.0.0.1%3A8000%2Ffeeds%2F" in first.text
    assert "https://outlook.live.com/calendar/0/addfromweb?url=http%3A%2F%2F127.0.0.1%3A8000%2Ffeeds%2F" in first.text
    feed = web.call("GET", old)
    assert feed.status_code == 200 and "DTSTART:20270302T050000Z" in feed.text
    reschedule.request(
        db, clock.now, customer="thames", occurrence_id="pe.nightly.20270302", proposed_start=_utc("2027-03-03T05:00")
    )
    reschedule.approve(db, clock.now, settings, 1)
    changed = web.call("GET", old).text
    assert "DTSTART:20270303T050000Z" in changed and "DTSTART:20270302T050000Z" not in changed
    second = web.call("POST", "/portal/subscribe/reset", data={"csrf": csrf(page.text), "confirm": "yes"})
    assert web.call("GET", old).status_code == 404
    assert web.call("GET", _feed_path(second.text)).status_code == 200


def test_another_customers_window_is_not_found(web: ApiClient) -> None:
    token = csrf(web.call("GET", "/portal/contacts").text)
    for occurrence in (
        "pc.early.20270302.harbour",
        "pe.nightly.20270302.harbour",
        "pe.nightly.99999999",
        "nope.nightly.20270302",
        "pe",
        "pe.unplanned-1",
    ):
        assert web.call("GET", f"/portal/windows/{occurrence}").status_code == 404, occurrence
        assert web.call("GET", f"/portal/windows/{occurrence}/event.ics").status_code == 404
        posted = web.call(
            "POST", f"/portal/windows/{occurrence}/reschedule", data={"csrf": token, "start": "2027-03-03T05:00"}
        )
        assert posted.status_code == 404, occurrence


def test_month_availability_contacts_and_the_ics(web: ApiClient, db: Database) -> None:
    month = web.call("GET", "/portal/month/2027-03")
    assert month.status_code == 200 and "Maintenance in March 2027" in month.text
    assert window_attrs(month.text)["dst.sunday.20270328"] == ("2027-03-28T00:30:00Z", "2027-03-28T02:30:00Z")
    assert "pe.nightly.20270401" not in month.text
    for bad in ("/portal/month/2027-13", "/portal/month/march", "/portal/availability/2099-01"):
        assert web.call("GET", bad).status_code == 404, bad
    availability = web.call("GET", "/portal/availability/2027-01")
    assert availability.status_code == 200
    shown = text(availability.text)
    assert "Premier Edition" in shown and "Data Store" in shown and "<svg" in availability.text
    contacts = text(web.call("GET", "/portal/contacts").text)
    assert "a@thames.example b@thames.example" in contacts and "write to help@vendor.example" in contacts
    ics = web.call("GET", "/portal/windows/dst.sunday.20270328/event.ics")
    assert ics.status_code == 200 and ics.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "UID:dst.sunday.20270328@test.example" in ics.text
    assert "DTSTART:20270328T003000Z" in ics.text and ics.text.count("BEGIN:VEVENT") == 1
    css = web.call("GET", "/portal/static/portal.css")
    assert css.status_code == 200 and css.headers["content-type"] == "text/css; charset=utf-8"


def _feed_path(page: str) -> str:
    start = page.index('id="feed-url" type="text" readonly value="http://127.0.0.1:8000') + len(
        'id="feed-url" type="text" readonly value="http://127.0.0.1:8000'
    )
    return page[start : page.index('"', start)]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_cancelled_and_unplanned_windows(web: ApiClient, db: Database, settings: Settings, clock: Clock) -> None:
    change_occurrence(
        db, clock.now, settings, "pe.nightly.20270304", action="cancel", reason="no longer needed", waive_notice="t"
    )
    unplanned.declare(
        db,
        clock.now,
        settings,
        "pe",
        customers=[],
        start=_utc("2027-01-06T10:00"),
        duration=timedelta(hours=1),
        reason="disk replacement",
    )
    rows = window_rows(web.call("GET", "/portal/").text)
    assert rows["pe.nightly.20270304"][2:5] == ["Premier Edition", "Planned", "Cancelled"]
    assert rows["pe.unplanned-1"][:5] == [
        "Wed 6 Jan 2027 10:00 GMT – 11:00 GMT",
        "2027-01-06 10:00 – 11:00 UTC",
        "Premier Edition",
        "Unplanned",
        "Scheduled",
    ]
    cancelled = web.call("GET", "/portal/windows/pe.nightly.20270304")
    assert "Cancelled: no longer needed" in text(cancelled.text)
    assert "This window cannot be moved: it is cancelled" in text(cancelled.text)
    declared = text(web.call("GET", "/portal/windows/pe.unplanned-1").text)
    assert "Declared as unplanned maintenance: disk replacement" in declared
    assert "unplanned maintenance cannot be rescheduled" in declared
    assert "unplanned, " in declared  # the notice sent at once, queued


def test_availability_counts_unplanned_maintenance(
    web: ApiClient, db: Database, settings: Settings, clock: Clock
) -> None:
    unplanned.declare(
        db,
        clock.now,
        settings,
        "pe",
        customers=["thames"],
        start=_utc("2027-01-04T10:00"),
        duration=timedelta(hours=1),
        reason="disk replacement",
        record_past=True,
    )
    page = web.call("GET", "/portal/availability/2027-01")
    section = page.text[page.text.index('data-product="pe"') :]
    section = text(section[: section.index("</section>")])
    # Jan 1 00:00 to now (Jan 4 12:00) is 84 h; 1 h of it counted: 1 - 1/84.
    assert section == (
        'data-product="pe"> Premier Edition Availability 98.8095 % (missed) Target 99.95 % Downtime counted 60 min '
        "Maintenance excluded 0 min Credit 25 % "
        "Mon 4 Jan 2027 10:00 GMT – 11:00 GMT: counted: unplanned maintenance counts as downtime Jan: 98.8095 % Jan"
    )
    assert '<svg class="chart" role="img" aria-label="Availability of Premier Edition by month' in page.text
