"""Whole flows through the real ASGI app, the CLI and a real SMTP server (aiosmtpd).

Reschedule: request (API) -> approve (CLI) -> the customer's feed shows the new time with
SEQUENCE 1, other customers' feeds are unchanged -> the decision notice reaches the customer's
contacts with a matching .ics. Reject path likewise. Unplanned: declare, extend, end through the
CLI, each with its notice (same UID, rising SEQUENCE).
"""

from __future__ import annotations

import email
from collections.abc import Callable, Iterator
from dataclasses import replace
from email.message import Message
from typing import Any

import pytest
from click.testing import CliRunner, Result
from icalendar import Calendar

from cli import maintcal
from commands.common import AppContext
from scheduler.catalogue.apikeys import issue_api_key
from scheduler.feeds.tokens import issue_feed_token
from scheduler.http.app import create_app
from scheduler.notices.worker import send_due
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load, utc
from tests.smtp_server import FaultHandler, smtp_server

UID = "pe.nightly.20270302@test.example"


@pytest.fixture
def handler() -> FaultHandler:
    return FaultHandler()


@pytest.fixture
def world(db: Database, db_url: str, handler: FaultHandler) -> Iterator[dict[str, Any]]:
    load(db)
    smtp = smtp_server(handler)
    settings = Settings(database_url=db_url, smtp_url=smtp.url, uid_domain="test.example", smtp_timeout=5.0)
    http = ApiClient(create_app(settings, database=db, clock=lambda: NOW))

    def cli(*args: str) -> Result:
        result = CliRunner().invoke(maintcal, list(args), obj=AppContext(settings, now=NOW))
        assert result.exit_code == 0, result.output + result.stderr
        return result

    yield {
        "settings": settings,
        "http": http,
        "cli": cli,
        "key": issue_api_key(db, NOW, "thames"),
        "feeds": {c: issue_feed_token(db, NOW, c) for c in ("thames", "harbour")},
        "send": lambda: send_due(db, settings, lambda: NOW),
        "db": db,
    }
    http.close()
    smtp.stop()


def _event(feed: bytes, uid: str) -> Any:
    events: list[Any] = [e for e in Calendar.from_ical(feed).walk("VEVENT") if str(e["UID"]) == uid]
    assert len(events) == 1
    return events[0]


def _messages(received: FaultHandler, address: str) -> list[Message]:
    return [email.message_from_bytes(r.data) for r in received.received if address in r.recipients]


def _ics(message: Message) -> Any:  # icalendar's components are loosely typed
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return Calendar.from_ical(payload)


def test_reschedule_request_approve_feed_and_notice(world: dict[str, Any], handler: FaultHandler) -> None:
    http: ApiClient = world["http"]
    cli: Callable[..., Result] = world["cli"]
    created = http.call(
        "POST",
        "/api/v1/reschedule-requests",
        world["key"],
        json={"occurrence": "pe.nightly.20270302", "proposed_start": "2027-03-03T05:00:00Z", "reason": "freeze"},
    )
    assert created.status_code == 201
    assert cli("reschedule", "approve", str(created.json()["id"]), "--note", "agreed").stdout.startswith(
        "approved request 1: pe.nightly.20270302 for thames now starts 2027-03-03T05:00:00Z"
    )
    thames = http.call("GET", f"/feeds/{world['feeds']['thames']}.ics")
    harbour = http.call("GET", f"/feeds/{world['feeds']['harbour']}.ics")
    mine, theirs = _event(thames.content, UID), _event(harbour.content, UID)
    assert (mine["DTSTART"].dt, mine["DTEND"].dt, mine["SEQUENCE"]) == (
        utc("2027-03-03T05:00:00Z"),
        utc("2027-03-03T08:00:00Z"),
        1,
    )
    assert (theirs["DTSTART"].dt, theirs["DTEND"].dt, theirs.get("SEQUENCE", 0)) == (
        utc("2027-03-02T05:00:00Z"),
        utc("2027-03-02T08:00:00Z"),
        0,
    )
    report = world["send"]()
    assert report.sent == 2 and report.failed == 0
    for address in ("a@thames.example", "b@thames.example"):
        [message] = _messages(handler, address)
        calendar = _ics(message)
        [event] = calendar.walk("VEVENT")
        assert (str(calendar["METHOD"]), str(event["UID"]), event["SEQUENCE"], event["DTSTART"].dt) == (
            "PUBLISH",
            UID,
            1,
            utc("2027-03-03T05:00:00Z"),
        )
    assert _messages(handler, "ops@harbour.example") == []


def test_reschedule_reject_notifies_with_the_reason(world: dict[str, Any], handler: FaultHandler) -> None:
    cli: Callable[..., Result] = world["cli"]
    request_id = cli(
        "reschedule", "request", "pe.nightly.20270302", "--customer", "thames", "--to", "2027-03-04T12:00:00Z"
    ).stdout.strip()
    cli("reschedule", "reject", request_id, "--reason", "platform release that night")
    world["send"]()
    [message] = _messages(handler, "a@thames.example")
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert isinstance(text, bytes) and b"platform release that night" in text
    [event] = _ics(message).walk("VEVENT")
    assert (str(event["UID"]), event.get("SEQUENCE", 0), event["DTSTART"].dt) == (UID, 0, utc("2027-03-02T05:00:00Z"))


def test_unplanned_declare_extend_end_each_send_an_update(world: dict[str, Any], handler: FaultHandler) -> None:
    cli: Callable[..., Result] = world["cli"]
    cli("unplanned", "declare", "pe", "--customer", "nile", "--duration", "1h", "--reason", "storage failover")
    world["send"]()
    cli("unplanned", "extend", "pe.unplanned-1", "--by", "30m")
    world["send"]()
    later = replace(world["settings"])
    result = CliRunner().invoke(
        maintcal,
        ["unplanned", "end", "pe.unplanned-1", "--at", "2027-01-04T13:10:00Z"],
        obj=AppContext(later, now=utc("2027-01-04T13:10:00Z")),
    )
    assert result.exit_code == 0, result.output
    send_due(world["db"], later, lambda: utc("2027-01-04T13:10:00Z"))
    events = [_ics(m).walk("VEVENT")[0] for m in _messages(handler, "ops@nile.example")]
    assert [(str(e["UID"]), e.get("SEQUENCE", 0), e["DTEND"].dt) for e in events] == [
        ("pe.unplanned-1@test.example", 0, utc("2027-01-04T13:00:00Z")),
        ("pe.unplanned-1@test.example", 1, utc("2027-01-04T13:30:00Z")),
        ("pe.unplanned-1@test.example", 2, utc("2027-01-04T13:10:00Z")),
    ]
    assert _messages(handler, "a@thames.example") == []  # declared for nile only
