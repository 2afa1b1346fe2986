"""Issue 16's repro through the CLI: the second move's clock is one second behind the first's."""

from __future__ import annotations

import email
import json
from pathlib import Path

import psycopg  # noqa: F401  (its C module must load before freezegun replaces datetime)
import pytest
from click.testing import CliRunner, Result
from freezegun.api import FrozenDateTimeFactory
from icalendar import Calendar
from sqlalchemy import select

from cli import maintcal
from scheduler.store.db import Database
from scheduler.store.models_outbox import Delivery


def run(db_url: str, tmp_path: Path, *args: str) -> Result:
    environment = {"MAINTCAL_PICKUP_DIR": str(tmp_path / "pickup"), "MAINTCAL_SMTP_URL": ""}
    return CliRunner().invoke(maintcal, ["--db", db_url, *args], env=environment)


def ok(db_url: str, tmp_path: Path, *args: str) -> str:
    result = run(db_url, tmp_path, *args)
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return result.stdout


def queued_notices(db: Database) -> list[tuple[str, str, str, str, str, str]]:
    """(status, METHOD, UID, DTSTART, DTEND, SEQUENCE) of every delivery, read from its stored bytes."""
    with db.transaction() as session:
        rows = session.execute(select(Delivery.status, Delivery.mime).order_by(Delivery.id)).all()
    found = []
    for status, mime in rows:
        (part,) = [p for p in email.message_from_bytes(mime).walk() if p.get_content_type() == "text/calendar"]
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        calendar = Calendar.from_ical(payload)
        (event,) = calendar.walk("VEVENT")
        found.append(
            (
                status,
                str(calendar["METHOD"]),
                str(event["UID"]),
                event.decoded("DTSTART").strftime("%Y%m%dT%H%M%SZ"),
                event.decoded("DTEND").strftime("%Y%m%dT%H%M%SZ"),
                str(event["SEQUENCE"]),
            )
        )
    return found


@pytest.mark.freeze_time("2026-11-30T12:00:00Z")
def test_a_later_move_wins_although_its_clock_is_one_second_behind(
    db: Database, db_url: str, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    ok(db_url, tmp_path, "product", "add", "voice", "--name", "Voice")
    window = ["--days", "tue-thu", "--start", "22:00", "--end", "05:00", "--tz", "America/New_York"]
    ok(db_url, tmp_path, "window", "add", "voice", *window, "--name", "nightly", "--from", "2027-01-15")
    ok(db_url, tmp_path, "customer", "add", "c", "--name", "C", "--tz", "UTC", "--contact", "a@c.example.com")
    ok(db_url, tmp_path, "customer", "subscribe", "c", "voice")

    freezer.move_to("2026-12-01T12:00:00Z")
    move = ["occurrence", "move", "voice.nightly.20271216"]
    first = ok(db_url, tmp_path, *move, "--to", "2027-12-25T03:00:00Z", "--reason", "one")
    assert first.splitlines() == [
        "moved voice.nightly.20271216 product-wide (every customer of voice)",
        "  c: moved to 2027-12-25T03:00:00Z - 2027-12-25T10:00:00Z (sequence 1)",
        "notices queued: 1 to contacts of c",
    ]
    freezer.move_to("2026-12-01T11:59:59Z")
    second = ok(db_url, tmp_path, *move, "--to", "2027-12-18T03:00:00Z", "--reason", "two")
    assert second.splitlines() == [
        "moved voice.nightly.20271216 product-wide (every customer of voice)",
        "  c: moved to 2027-12-18T03:00:00Z - 2027-12-18T10:00:00Z (sequence 2)",
        "notices queued: 1 to contacts of c",
    ]

    listed = json.loads(
        ok(db_url, tmp_path, "occurrences", "--customer", "c", "--from", "2027-12-16", "--to", "2027-12-26", "--json")
    )
    assert [(o["id"], o["status"], o["start"], o["end"], o["sequence"]) for o in listed] == [
        ("voice.nightly.20271215", "scheduled", "2027-12-16T03:00:00Z", "2027-12-16T10:00:00Z", 0),
        ("voice.nightly.20271216", "moved", "2027-12-18T03:00:00Z", "2027-12-18T10:00:00Z", 2),
        ("voice.nightly.20271221", "scheduled", "2027-12-22T03:00:00Z", "2027-12-22T10:00:00Z", 0),
        ("voice.nightly.20271222", "scheduled", "2027-12-23T03:00:00Z", "2027-12-23T10:00:00Z", 0),
        ("voice.nightly.20271223", "scheduled", "2027-12-24T03:00:00Z", "2027-12-24T10:00:00Z", 0),
    ]
    feed = Calendar.from_ical(ok(db_url, tmp_path, "feed", "--customer", "c"))
    (event,) = [e for e in feed.walk("VEVENT") if str(e["UID"]) == "voice.nightly.20271216@maintcal.example.com"]
    assert (event["DTSTART"].to_ical(), event["DTEND"].to_ical(), event["SEQUENCE"]) == (
        b"20271218T030000Z",
        b"20271218T100000Z",
        2,
    )
    uid = "voice.nightly.20271216@maintcal.example.com"
    assert queued_notices(db) == [
        ("superseded", "PUBLISH", uid, "20271225T030000Z", "20271225T100000Z", "1"),
        ("queued", "PUBLISH", uid, "20271218T030000Z", "20271218T100000Z", "2"),
    ]
