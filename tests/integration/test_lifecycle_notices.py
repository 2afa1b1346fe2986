"""Reminders and started/finished notices (issue 15) through the outbox, with a pinned clock, real
SMTP (aiosmtpd) and a real webhook receiver, on SQLite and PostgreSQL.

pe.tue.20270209 runs 2027-02-09 05:00Z-11:00Z (notice_fixtures). With a 48 h reminder, its reminder
is due 2027-02-07 05:00Z and queued 24 h ahead (``lifecycle_ahead_hours``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import icalendar
import pytest
from freezegun import freeze_time
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from scheduler.catalogue import endpoints
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_all
from scheduler.occurrences import unplanned
from scheduler.occurrences.changes import change_occurrence
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models_outbox import Delivery
from tests.integration.notice_fixtures import FIRST, FIRST_END, FIRST_START, NOW, build, settings_for
from tests.smtp_server import FaultHandler, ServerThread
from tests.webhook_receiver import Receiver

T0 = datetime(2027, 2, 6, 17, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def emails(handler: FaultHandler, kind: str) -> list[EmailMessage]:
    found = [message_from_bytes(r.data, policy=default) for r in handler.received]
    return [m for m in found if isinstance(m, EmailMessage) and m["X-Maintcal-Notice"] == kind]


def hooks(receiver: Receiver, event: str) -> list[dict[str, Any]]:
    return [body for r in receiver.requests if (body := json.loads(r.body))["type"] == event]


def calendar_of(message: EmailMessage) -> tuple[str, int, datetime]:
    """UID, SEQUENCE and DTSTART of the attachment's one event."""
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    event = next(iter(icalendar.Calendar.from_ical(payload).walk("VEVENT")))
    return str(event["UID"]), int(str(event["SEQUENCE"])), event.decoded("DTSTART")


def verify_all(receiver: Receiver, secret: str) -> None:
    """Every request carries a valid Standard Webhooks signature at its own timestamp (and fails when old)."""
    for request in receiver.requests:
        stamp = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), UTC)
        with freeze_time(stamp):
            assert Webhook(secret).verify(request.body, request.headers) == json.loads(request.body)
        with freeze_time(stamp + timedelta(minutes=10)), pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(request.body, request.headers)  # replayed later: refused


def setup(db: Database, conf: Settings, receiver: Receiver, **options: Any) -> str:
    build(db, contacts=("a@acme.example",))
    endpoints.set_notice_options(db, NOW, "acme", reminders=options.get("reminders", ["48h"]), lifecycle_notices=None)
    if options.get("lifecycle"):
        endpoints.set_notice_options(db, NOW, "acme", reminders=None, lifecycle_notices=True)
    added = endpoints.add_endpoint(db, NOW, conf, "acme", "webhook", receiver.url)
    assert added.secret is not None and added.secret.startswith("whsec_")
    return added.secret


def lifecycle_rows(db: Database) -> list[tuple[str, str | None, datetime, str]]:
    with db.transaction() as session:
        rows = session.scalars(select(Delivery).where(Delivery.event.like("occurrence.%")).order_by(Delivery.id))
        return [(d.channel, d.event, d.next_attempt_at, d.status) for d in rows if d.event != "occurrence.announced"]


def test_a_move_between_queueing_and_sending_a_reminder_sends_only_the_new_one(
    db: Database, db_url: str, tmp_path: Path, server: ServerThread, handler: FaultHandler, receiver: Receiver
) -> None:
    conf = settings_for(db_url, tmp_path, smtp_url=server.url, webhook_allow_private=True)
    secret = setup(db, conf, receiver)
    plan_notices(db, T0, conf)
    old_due = FIRST_START - timedelta(hours=48)
    assert [r for r in lifecycle_rows(db) if r[1] == "occurrence.reminder"] == [
        ("email", "occurrence.reminder", old_due, "queued"),
        ("webhook", "occurrence.reminder", old_due, "queued"),
    ]
    send_all(db, conf, lambda: T0)  # the digests go out; the reminder waits for its instant
    assert emails(handler, "reminder") == [] and hooks(receiver, "occurrence.reminder") == []

    change_occurrence(
        db, T0 + timedelta(hours=1), conf, FIRST, action="move", reason="vendor patch",
        new_start=FIRST_START + DAY, new_end=FIRST_END + DAY, waive_notice="agreed by phone",
    )  # fmt: skip
    send_all(db, conf, lambda: old_due)
    assert emails(handler, "reminder") == [] and hooks(receiver, "occurrence.reminder") == []
    assert [r[3] for r in lifecycle_rows(db) if r[1] == "occurrence.reminder"] == ["superseded", "superseded"]

    plan_notices(db, old_due + timedelta(hours=1), conf)  # the new time's reminder enters the 24 h ahead
    new_due = FIRST_START + DAY - timedelta(hours=48)
    send_all(db, conf, lambda: new_due - timedelta(minutes=1))
    assert emails(handler, "reminder") == []
    send_all(db, conf, lambda: new_due)

    [mail] = emails(handler, "reminder")
    assert mail["X-Maintcal-Occurrence"] == FIRST
    assert mail["Subject"] == "Maintenance reminder: Premier Edition, Wed 2027-02-10 05:00 GMT"
    text = mail.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert "Wed 2027-02-10 05:00 UTC to Wed 2027-02-10 11:00 UTC (6 h)" in body
    assert "Starts in 2 d." in body and "2027-02-09" not in body
    assert calendar_of(mail) == (f"{FIRST}@maintcal.example.com", 1, FIRST_START + DAY)

    [hook] = hooks(receiver, "occurrence.reminder")
    assert hook["data"]["occurrence"]["id"] == FIRST
    assert (hook["data"]["occurrence"]["start"], hook["data"]["occurrence"]["sequence"]) == ("2027-02-10T05:00:00Z", 1)
    data = hook["data"]
    assert (data["customer"], data["lead"], hook["timestamp"]) == ("acme", "48h", "2027-02-08T05:00:00Z")
    moved = hooks(receiver, "occurrence.moved")
    assert [m["data"]["occurrence"]["start"] for m in moved] == ["2027-02-10T05:00:00Z"]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {json.loads(r.body)["id"] for r in receiver.requests}
    verify_all(receiver, secret)


def test_a_cancel_supersedes_queued_reminders_and_none_is_queued_for_a_past_lead(
    db: Database, db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    conf = settings_for(db_url, tmp_path, webhook_allow_private=True)
    setup(db, conf, receiver, reminders=["7d", "48h"])
    plan_notices(db, T0, conf)  # 7 d before is past: only the 48 h reminder
    assert [(r[0], r[2]) for r in lifecycle_rows(db)] == [
        ("email", FIRST_START - timedelta(hours=48)),
        ("webhook", FIRST_START - timedelta(hours=48)),
    ]
    change_occurrence(db, T0, conf, FIRST, action="cancel", reason="not needed")
    assert [r[3] for r in lifecycle_rows(db) if r[1] == "occurrence.reminder"] == ["superseded", "superseded"]
    plan_notices(db, T0 + timedelta(hours=2), conf)
    assert [r for r in lifecycle_rows(db) if r[1] == "occurrence.reminder" and r[3] == "queued"] == []


def test_switching_reminders_off_supersedes_the_queued_ones(
    db: Database, db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    conf = settings_for(db_url, tmp_path, webhook_allow_private=True)
    setup(db, conf, receiver)
    plan_notices(db, T0, conf)
    plan_notices(db, T0 + timedelta(minutes=1), conf)  # again: nothing new, nothing superseded
    assert [r[3] for r in lifecycle_rows(db)] == ["queued", "queued"]
    endpoints.set_notice_options(db, T0, "acme", reminders=["none"], lifecycle_notices=None)
    plan_notices(db, T0 + timedelta(minutes=5), conf)
    assert [r[3] for r in lifecycle_rows(db)] == ["superseded", "superseded"]


def test_planned_windows_get_started_and_finished_notices_only_when_opted_in_and_at_their_instants(
    db: Database, db_url: str, tmp_path: Path, server: ServerThread, handler: FaultHandler, receiver: Receiver
) -> None:
    conf = settings_for(db_url, tmp_path, smtp_url=server.url, webhook_allow_private=True)
    secret = setup(db, conf, receiver, reminders=["none"], lifecycle=True)
    before = FIRST_START - timedelta(hours=12)
    plan_notices(db, before, conf)
    assert lifecycle_rows(db) == [
        ("email", "occurrence.started", FIRST_START, "queued"),
        ("webhook", "occurrence.started", FIRST_START, "queued"),
        ("email", "occurrence.finished", FIRST_END, "queued"),
        ("webhook", "occurrence.finished", FIRST_END, "queued"),
    ]
    send_all(db, conf, lambda: FIRST_START - timedelta(seconds=1))
    assert emails(handler, "started") == []
    send_all(db, conf, lambda: FIRST_START)
    assert [m["X-Maintcal-Occurrence"] for m in emails(handler, "started")] == [FIRST]
    assert emails(handler, "finished") == []
    send_all(db, conf, lambda: FIRST_END)
    [finished] = emails(handler, "finished")
    body = finished.get_body(("plain",))
    assert body is not None and "Finished at 2027-02-09T11:00:00Z after 6 h." in body.get_content()
    assert [h["timestamp"] for h in hooks(receiver, "occurrence.finished")] == ["2027-02-09T11:00:00Z"]
    verify_all(receiver, secret)

    endpoints.set_notice_options(db, FIRST_END, "acme", reminders=None, lifecycle_notices=False)
    plan_notices(db, FIRST_START + timedelta(days=7) - timedelta(hours=12), conf)
    assert len(lifecycle_rows(db)) == 4  # nothing more for next week's window


def test_unplanned_started_extended_finished_tell_the_state_and_the_reason(
    db: Database, db_url: str, tmp_path: Path, server: ServerThread, handler: FaultHandler, receiver: Receiver
) -> None:
    conf = settings_for(db_url, tmp_path, smtp_url=server.url, webhook_allow_private=True)
    setup(db, conf, receiver, reminders=["none"])
    start = NOW + timedelta(hours=2)
    declared = unplanned.declare(
        db, NOW, conf, "pe", customers=[], start=start, duration=timedelta(minutes=90), reason="storage firmware"
    )
    oid = declared.info.id
    send_all(db, conf, lambda: NOW)
    [mail] = emails(handler, "unplanned")
    text = mail.get_body(("plain",))
    assert text is not None
    assert "Starts at 2027-01-04T14:00:00Z; expected to last 1 h 30 min. Reason: storage firmware" in text.get_content()
    assert [h["data"]["note"] for h in hooks(receiver, "unplanned.declared")] == [
        "Starts at 2027-01-04T14:00:00Z; expected to last 1 h 30 min. Reason: storage firmware"
    ]
    send_all(db, conf, lambda: start)
    [started] = emails(handler, "started")
    started_text = started.get_body(("plain",))
    assert started_text is not None
    assert "In progress until 2027-01-04T15:30:00Z (1 h 30 min). Reason: storage firmware" in started_text.get_content()

    unplanned.extend(db, start + timedelta(minutes=30), conf, oid, by=timedelta(minutes=30), until=None)
    send_all(db, conf, lambda: start + timedelta(minutes=90))  # the old end: nothing "finished" then
    assert emails(handler, "finished") == []
    [extended] = hooks(receiver, "unplanned.extended")
    assert extended["data"]["note"].startswith("Extended until 2027-01-04T16:00:00Z. In progress since")
    send_all(db, conf, lambda: start + timedelta(hours=2))
    [finished] = emails(handler, "finished")
    finished_text = finished.get_body(("plain",))
    assert finished_text is not None
    content = finished_text.get_content()
    assert "Finished at 2027-01-04T16:00:00Z after 2 h. Reason: storage firmware" in content
    assert "(2 h)" in content and re.search(r"\d\.\d+ h", content) is None  # never "(0.000977893 h)"
    assert calendar_of(finished) == (f"{oid}@maintcal.example.com", 1, start)


@pytest.mark.parametrize(
    ("correction", "end", "text"),
    [
        ("end", "2027-01-04T15:00:00Z", "Finished at 2027-01-04T15:00:00Z after 1 h. Reason: storage firmware"),
        ("extend", "2027-01-04T16:00:00Z", "Finished at 2027-01-04T16:00:00Z after 2 h. Reason: storage firmware"),
    ],
)
def test_a_correction_after_the_fact_moves_the_queued_finished_notice_to_the_corrected_end(
    db: Database,
    db_url: str,
    tmp_path: Path,
    server: ServerThread,
    handler: FaultHandler,
    receiver: Receiver,
    correction: str,
    end: str,
    text: str,
) -> None:
    conf = settings_for(db_url, tmp_path, smtp_url=server.url, webhook_allow_private=True)
    secret = setup(db, conf, receiver, reminders=["none"])
    start = NOW + timedelta(hours=2)  # 14:00-15:30, 'finished' queued for 15:30
    declared = unplanned.declare(
        db, NOW, conf, "pe", customers=[], start=start, duration=timedelta(minutes=90), reason="storage firmware"
    )
    oid = declared.info.id
    send_all(db, conf, lambda: start)  # the declaration and 'started'; then no worker ran for a while
    later = datetime(2027, 1, 4, 16, 30, tzinfo=UTC)  # the window is over, its 'finished' still queued
    new_end = datetime.fromisoformat(end)
    if correction == "end":
        fixed = unplanned.end(db, later, conf, oid, at=new_end, record_past=True)
    else:
        fixed = unplanned.extend(db, later, conf, oid, by=None, until=new_end, record_past=True)
    assert (fixed.info.end, fixed.info.sequence, fixed.deliveries, fixed.notified) == (new_end, 1, 0, False)
    assert lifecycle_rows(db) == [
        ("email", "occurrence.started", start, "sent"),
        ("webhook", "occurrence.started", start, "sent"),
        ("email", "occurrence.finished", start + timedelta(minutes=90), "superseded"),
        ("webhook", "occurrence.finished", start + timedelta(minutes=90), "superseded"),
        ("email", "occurrence.finished", new_end, "queued"),
        ("webhook", "occurrence.finished", new_end, "queued"),
    ]
    send_all(db, conf, lambda: later)
    [finished] = emails(handler, "finished")
    body = finished.get_body(("plain",))
    assert body is not None and text in body.get_content()
    assert finished["X-Maintcal-Occurrence"] == oid
    assert calendar_of(finished) == (f"{oid}@maintcal.example.com", 1, start)
    [hook] = hooks(receiver, "occurrence.finished")
    assert (hook["timestamp"], hook["data"]["note"]) == (end, text)
    occurrence = hook["data"]["occurrence"]
    assert (occurrence["id"], occurrence["end"], occurrence["sequence"]) == (oid, end, 1)
    verify_all(receiver, secret)
