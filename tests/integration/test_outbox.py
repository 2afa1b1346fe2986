"""The outbox on SQLite and PostgreSQL: planning is idempotent, bytes are made once, claiming leases."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from notifications.delivery import Outcome
from scheduler.catalogue import edits as catalogue
from scheduler.notices.change_notices import enqueue_change_notices
from scheduler.notices.outbox import abandon, claim, complete, complete_many, renew, worker_name
from scheduler.notices.outbox_status import at_risk, at_risk_count, notices_status
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due, warn_at_risk
from scheduler.occurrences.schedule import find_occurrence
from scheduler.store.db import Database
from scheduler.store.models import Customer, Override, Product
from scheduler.store.models_outbox import Delivery, DeliveryAttempt, DeliveryOccurrence, Notice
from scheduler.store.repository import bump_version
from tests.integration.notice_fixtures import (
    CONTACTS,
    FIRST,
    FIRST_DEADLINE,
    FIRST_END,
    FIRST_START,
    NOW,
    build,
    settings_for,
)
from windows.errors import InvalidInput
from windows.rules import WeeklyRule


def deliveries(db: Database) -> list[Delivery]:
    with db.transaction() as session:
        rows = list(session.scalars(select(Delivery).order_by(Delivery.id)))
        for row in rows:
            _ = row.covers
        return rows


def covers(db: Database) -> list[tuple[str, str, datetime, datetime, int, str, str | None]]:
    with db.transaction() as session:
        rows = session.execute(
            select(
                Delivery.email,
                DeliveryOccurrence.occurrence_id,
                DeliveryOccurrence.start,
                DeliveryOccurrence.end,
                DeliveryOccurrence.sequence,
                DeliveryOccurrence.method,
                DeliveryOccurrence.announced_to,
            )
            .join(Delivery)
            .order_by(DeliveryOccurrence.id)
        )
        return list(rows)


def test_planning_queues_one_digest_per_contact_once(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path)
    dry = plan_notices(db, NOW, settings, dry_run=True)
    assert [(d.email, d.occurrences) for d in dry.digests] == [(c, (FIRST,)) for c in CONTACTS]
    assert deliveries(db) == []
    result = plan_notices(db, NOW, settings)
    assert (result.deliveries, result.customers, result.occurrences) == (3, 1, 1)
    rows = deliveries(db)
    assert [(d.email, d.status, d.attempts, d.next_attempt_at, d.deadline) for d in rows] == [
        (c, "queued", 0, NOW, FIRST_DEADLINE) for c in CONTACTS
    ]
    assert [d.message_id for d in rows] == [
        "<20270104120000.1.1.maintcal@maintcal.example.com>",
        "<20270104120000.1.2.maintcal@maintcal.example.com>",
        "<20270104120000.1.3.maintcal@maintcal.example.com>",
    ]
    assert covers(db) == [(c, FIRST, FIRST_START, FIRST_END, 0, "PUBLISH", c) for c in CONTACTS]
    # Running again, even later the same day, announces nothing new.
    assert plan_notices(db, NOW, settings).deliveries == 0
    assert plan_notices(db, NOW + timedelta(hours=5), settings).deliveries == 0
    # A week later the next Tuesday has entered the horizon: one more digest each, for it only.
    later = plan_notices(db, NOW + timedelta(days=7), settings)
    assert [(d.email, d.occurrences) for d in later.digests] == [(c, ("pe.tue.20270216",)) for c in CONTACTS]


def test_the_stored_bytes_are_the_finished_message(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    plan_notices(db, NOW, settings_for(db_url, tmp_path))
    first = deliveries(db)[0]
    msg = message_from_bytes(first.mime, policy=default)
    assert (msg["To"], msg["Message-ID"], msg["Subject"]) == (
        "a@acme.example",
        first.message_id,
        "Planned maintenance: Premier Edition, Tue 2027-02-09 05:00 GMT",
    )
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    [event] = icalendar.Calendar.from_ical(payload).walk("VEVENT")
    assert (str(event["UID"]), event["SEQUENCE"], event.decoded("DTSTART"), event.decoded("DTEND")) == (
        "pe.tue.20270209@maintcal.example.com",
        0,
        FIRST_START,
        FIRST_END,
    )


def test_a_contact_nominated_later_gets_what_is_in_the_horizon(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)
    catalogue.add_contact(db, NOW + timedelta(days=7), "acme", "new@acme.example")
    later = plan_notices(db, NOW + timedelta(days=7), settings)
    assert [(d.email, d.occurrences) for d in later.digests] == [
        ("a@acme.example", ("pe.tue.20270216",)),
        ("b@acme.example", ("pe.tue.20270216",)),
        ("c@acme.example", ("pe.tue.20270216",)),
        ("new@acme.example", (FIRST, "pe.tue.20270216")),
    ]
    # A removed contact gets nothing more.
    catalogue.remove_contact(db, NOW + timedelta(days=8), "acme", "b@acme.example")
    again = plan_notices(db, NOW + timedelta(days=14), settings)
    assert [d.email for d in again.digests] == ["a@acme.example", "c@acme.example", "new@acme.example"]


def test_a_move_is_announced_again_and_never_with_the_superseded_time(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)
    moved_start = FIRST_START + timedelta(days=1)
    with db.transaction() as session:
        product = session.scalar(select(Product).where(Product.key == "pe"))
        assert product is not None
        session.add(
            Override(
                product_id=product.id,
                occurrence_id=FIRST,
                customer_id=None,
                action="move",
                new_start=moved_start,
                new_end=moved_start + timedelta(hours=6),
                reason="storage upgrade",
                created_at=NOW + timedelta(hours=1),
            )
        )
        bump_version(session, NOW + timedelta(hours=1))  # as every change does
    # Without a change notice (the lead's service queues one), the next run announces the new time.
    result = plan_notices(db, NOW + timedelta(hours=2), settings)
    assert [(d.email, d.occurrences) for d in result.digests] == [(c, (FIRST,)) for c in CONTACTS]
    assert covers(db)[3:] == [
        (c, FIRST, moved_start, moved_start + timedelta(hours=6), 1, "PUBLISH", c) for c in CONTACTS
    ]


def test_change_notices_are_queued_in_the_callers_transaction(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    catalogue.add_customer(db, NOW, "bare", "No Contacts Ltd", "UTC", [])
    catalogue.subscribe(db, NOW, "bare", ["pe"])
    settings = settings_for(db_url, tmp_path)
    with db.transaction() as session:
        items = [find_occurrence(session, FIRST, "acme"), find_occurrence(session, FIRST, "bare")]
        assert None not in items
        queued = enqueue_change_notices(session, NOW, settings, [i for i in items if i], "cancel", "capacity freeze")
    assert queued == 3
    rows = deliveries(db)
    assert [(d.email, d.deadline) for d in rows] == [(c, None) for c in CONTACTS]
    assert covers(db) == [(c, FIRST, FIRST_START, FIRST_END, 0, "CANCEL", None) for c in CONTACTS]
    msg = message_from_bytes(rows[0].mime, policy=default)
    assert msg["X-Maintcal-Notice"] == "cancel"
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "CANCEL"
    with db.transaction() as session:
        notice = session.scalars(select(Notice)).one()
        assert (notice.kind, notice.method, notice.note) == ("cancel", "CANCEL", "capacity freeze")
    # A rolled-back change leaves no notice behind.
    with pytest.raises(RuntimeError), db.transaction() as session:
        item = find_occurrence(session, FIRST, "acme")
        assert item is not None
        enqueue_change_notices(session, NOW, settings, [item], "update")
        raise RuntimeError("the change failed")
    assert len(deliveries(db)) == 3


def test_change_notices_refuse_unknown_kinds(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    with db.transaction() as session:
        item = find_occurrence(session, FIRST, "acme")
        assert item is not None
        with pytest.raises(InvalidInput, match="unknown change notice kind 'announce'"):
            enqueue_change_notices(session, NOW, settings_for(db_url, tmp_path), [item], "announce")


def test_the_unique_key_refuses_a_second_announcement_of_the_same_times(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    build(db)
    plan_notices(db, NOW, settings_for(db_url, tmp_path))
    with pytest.raises(IntegrityError), db.transaction() as session:
        first = session.scalars(select(Delivery).order_by(Delivery.id)).first()
        customer = session.scalar(select(Customer.id).where(Customer.key == "acme"))
        assert first is not None and customer is not None
        session.add(
            DeliveryOccurrence(
                delivery_id=first.id,
                customer_id=customer,
                occurrence_id=FIRST,
                product_key="pe",
                start=FIRST_START,
                end=FIRST_END,
                sequence=0,
                method="PUBLISH",
                announced_to="a@acme.example",
            )
        )


def test_claims_never_overlap_and_expired_leases_are_reclaimed_uncertain(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    build(db)
    plan_notices(db, NOW, settings_for(db_url, tmp_path))
    one = claim(db, NOW, "w1", 2, 300, "maintenance@example.com")
    two = claim(db, NOW, "w2", 2, 300, "maintenance@example.com")
    assert [c.envelope.key for c in one] == [1, 2]
    assert [c.envelope.key for c in two] == [3]
    assert claim(db, NOW + timedelta(seconds=299), "w3", 10, 300, "maintenance@example.com") == []
    # w1 died: after its lease, its deliveries come back, flagged uncertain, attempt 2.
    back = claim(db, NOW + timedelta(seconds=300), "w3", 10, 300, "maintenance@example.com")
    assert [(c.envelope.key, c.attempt, c.uncertain) for c in back] == [(1, 2, True), (2, 2, True), (3, 2, True)]
    with db.transaction() as session:
        attempts = session.execute(
            select(
                DeliveryAttempt.delivery_id, DeliveryAttempt.number, DeliveryAttempt.worker, DeliveryAttempt.outcome
            ).order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.number)
        )
        assert list(attempts) == [
            (1, 1, "w1", "lease-expired"),
            (1, 2, "w3", "in-flight"),
            (2, 1, "w1", "lease-expired"),
            (2, 2, "w3", "in-flight"),
            (3, 1, "w2", "lease-expired"),
            (3, 2, "w3", "in-flight"),
        ]


SENDER = "maintenance@example.com"


def delivery_state(db: Database) -> list[tuple[int, str, str | None, bool, datetime | None]]:
    with db.transaction() as session:
        return [
            (d.id, d.status, d.lease_owner, d.uncertain, d.sent_at)
            for d in session.scalars(select(Delivery).order_by(Delivery.id))
        ]


def attempt_rows(db: Database) -> list[tuple[int, int, str, str, bool]]:
    with db.transaction() as session:
        rows = session.execute(
            select(
                DeliveryAttempt.delivery_id,
                DeliveryAttempt.number,
                DeliveryAttempt.worker,
                DeliveryAttempt.outcome,
                DeliveryAttempt.uncertain,
            ).order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.number)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_lease_is_renewed_only_by_its_holder_even_after_it_ran_out(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    plan_notices(db, NOW, settings_for(db_url, tmp_path))
    claim(db, NOW, "w1", 2, 300, SENDER)
    # Renewed past the original lease: nobody else may take 1 and 2 at NOW + 300 s.
    assert renew(db, NOW + timedelta(seconds=200), "w1", [1, 2, 3], 300) == {1, 2}
    assert [c.envelope.key for c in claim(db, NOW + timedelta(seconds=499), "w2", 10, 300, SENDER)] == [3]
    # Ran out and nobody took it over: the holder may still renew it.
    assert renew(db, NOW + timedelta(seconds=600), "w1", [1], 300) == {1}
    assert renew(db, NOW + timedelta(seconds=600), "w2", [1], 300) == set()
    with db.transaction() as session:
        leases = list(session.execute(select(Delivery.id, Delivery.lease_expires_at).order_by(Delivery.id)))
    assert leases == [
        (1, NOW + timedelta(seconds=900)),
        (2, NOW + timedelta(seconds=500)),
        (3, NOW + timedelta(seconds=799)),
    ]


def test_outcomes_recorded_together_keep_the_lease_rule_one_by_one(db: Database, db_url: str, tmp_path: Path) -> None:
    """One ``complete_many`` (the worker's group commit) decides each outcome as ``complete`` would."""
    build(db, ("a@acme.example", "b@acme.example", "c@acme.example", "d@acme.example"))
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)
    sent, retry = Outcome("sent", 250, "OK"), Outcome("retry", 451, "try later")
    first = claim(db, NOW, "w1", 4, 60, SENDER)
    later = NOW + timedelta(seconds=61)
    second = claim(db, later, "w2", 3, 60, SENDER)  # w1 stood still: w2 takes 1, 2 and 3 over; 4 stays w1's
    assert [c.envelope.key for c in second] == [1, 2, 3]
    assert complete_many(db, "w2", settings, [(second[1], sent, later + timedelta(seconds=1))]) == ["held"]
    at = later + timedelta(seconds=2)
    verdicts = complete_many(
        db, "w1", settings, [(first[0], sent, at), (first[1], sent, at), (first[2], retry, at), (first[3], sent, at)]
    )
    assert verdicts == ["taken-over", "duplicate", "lost", "held"]
    assert delivery_state(db)[:4] == [
        (1, "sent", None, True, at),
        (2, "sent", None, True, later + timedelta(seconds=1)),  # w2 took it over: uncertain
        (3, "sending", "w2", True, None),
        (4, "sent", None, False, at),
    ]
    assert attempt_rows(db)[:7] == [
        (1, 1, "w1", "sent", False),
        (1, 2, "w2", "in-flight", True),
        (2, 1, "w1", "sent", True),
        (2, 2, "w2", "sent", False),
        (3, 1, "w1", "retry", False),
        (3, 2, "w2", "in-flight", True),
        (4, 1, "w1", "sent", False),
    ]


def test_a_known_sent_ends_the_delivery_even_after_the_lease_was_taken_over(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)
    sent, retry = Outcome("sent", 250, "OK"), Outcome("retry", 451, "try later")
    first = claim(db, NOW, "w1", 3, 60, SENDER)
    # w1 stood still past its lease; w2 took all three over.
    later = NOW + timedelta(seconds=61)
    second = claim(db, later, "w2", 3, 60, SENDER)
    # 1: w1's "sent" arrives while w2 is still sending it: the delivery ends sent, w2's attempt is
    # the uncertain one; w2's own "sent" afterwards is recorded as the duplicate it is.
    assert complete(db, "w1", settings, first[0], sent, later + timedelta(seconds=1)) == "taken-over"
    assert complete(db, "w2", settings, second[0], sent, later + timedelta(seconds=2)) == "duplicate"
    # 2: w2 finished it first (a retry); w1's "sent" still ends it sent.
    assert complete(db, "w2", settings, second[1], retry, later + timedelta(seconds=3)) == "held"
    assert complete(db, "w1", settings, first[1], sent, later + timedelta(seconds=4)) == "taken-over"
    # 3: without the lease, a retry changes nothing but w1's attempt; w1 never began it at all.
    assert complete(db, "w1", settings, first[2], retry, later + timedelta(seconds=5)) == "lost"
    abandon(db, "w1", first[2])
    assert delivery_state(db) == [
        (1, "sent", None, True, later + timedelta(seconds=1)),
        (2, "sent", None, True, later + timedelta(seconds=4)),
        (3, "sending", "w2", True, None),
    ]
    assert attempt_rows(db) == [
        (1, 1, "w1", "sent", False),
        (1, 2, "w2", "sent", True),
        (2, 1, "w1", "sent", False),
        (2, 2, "w2", "retry", False),
        (3, 1, "w1", "lease-expired", False),
        (3, 2, "w2", "in-flight", True),
    ]


def test_pickup_sender_writes_the_stored_bytes_once_per_message_id(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)
    sent_at = NOW + timedelta(minutes=1)
    stats = send_due(db, settings, lambda: sent_at)
    assert (stats.sent, stats.retried, stats.failed) == (3, 0, 0)
    rows = deliveries(db)
    assert [(d.status, d.sent_at, d.attempts, d.lease_owner) for d in rows] == [("sent", sent_at, 1, None)] * 3
    files = sorted((tmp_path / "pickup").iterdir())
    assert [f.name for f in files] == [
        "20270104120000.1.1.maintcal@maintcal.example.com.eml",
        "20270104120000.1.2.maintcal@maintcal.example.com.eml",
        "20270104120000.1.3.maintcal@maintcal.example.com.eml",
    ]
    assert [f.read_bytes() for f in files] == [d.mime for d in rows]
    assert send_due(db, settings, lambda: sent_at).handled == 0  # nothing left


def test_status_and_the_worker_warn_loudly_about_unsent_deliveries_near_the_deadline(
    db: Database, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path, smtp_url="smtp://127.0.0.1:9?timeout=1")
    plan_notices(db, NOW, settings)
    assert notices_status(db, NOW, settings).at_risk == []  # deadline 2027-01-10 05:00Z, 5 days away
    near = FIRST_DEADLINE - timedelta(hours=71)
    status = notices_status(db, near, settings)
    assert (status.counts, status.due_now) == ({"queued": 3, "sending": 0, "sent": 0, "failed": 0, "superseded": 0}, 3)
    assert [(d.email, d.deadline, d.attempts) for d in status.at_risk] == [(c, FIRST_DEADLINE, 0) for c in CONTACTS]
    with caplog.at_level(logging.WARNING, logger="maintcal.worker"):
        assert warn_at_risk(db, FIRST_DEADLINE + timedelta(minutes=1), settings) == 3
    assert caplog.messages[0] == (
        "NOT SENT, PAST its notice deadline 2027-01-10T05:00:00Z: delivery 1 (announce) to a@acme.example "
        "for acme, 0 attempt(s)"
    )


def test_worker_names_are_unique() -> None:
    assert worker_name() != worker_name()
    assert datetime.now(UTC).year >= 2026


def _move(db: Database, occurrence_id: str, start: datetime, at: datetime) -> None:
    with db.transaction() as session:
        product = session.scalar(select(Product.id).where(Product.key == "pe"))
        assert product is not None
        session.add(
            Override(
                product_id=product,
                occurrence_id=occurrence_id,
                customer_id=None,
                action="move",
                new_start=start,
                new_end=start + timedelta(hours=6),
                reason="moved",
                created_at=at,
            )
        )
        bump_version(session, at)  # as every change does (the planning run reads what changed since)


def statuses(db: Database) -> list[tuple[str, str, str | None]]:
    return [(d.email, d.status, d.last_error) for d in deliveries(db)]


def test_an_unsent_notice_with_superseded_times_is_never_sent(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)  # digests for FIRST, not sent yet
    moved = FIRST_START + timedelta(days=1)
    _move(db, FIRST, moved, NOW + timedelta(minutes=5))
    with db.transaction() as session:
        item = find_occurrence(session, FIRST, "acme")
        assert item is not None
        assert enqueue_change_notices(session, NOW + timedelta(minutes=5), settings, [item], "update") == 3
    superseded = (None, "superseded", "superseded at 2027-01-04T12:05:00Z by a notice with current times")
    assert [s[1:] for s in statuses(db)] == [superseded[1:]] * 3 + [("queued", None)] * 3
    assert send_due(db, settings, lambda: NOW + timedelta(minutes=6)).sent == 3
    sent = [message_from_bytes(p.read_bytes(), policy=default) for p in sorted((tmp_path / "pickup").iterdir())]
    assert [m["X-Maintcal-Notice"] for m in sent] == ["update"] * 3
    # The superseded digests no longer count as told: nothing blocks a later announcement.
    assert [c[6] for c in covers(db)] == [None] * 6
    assert plan_notices(db, NOW + timedelta(minutes=7), settings).deliveries == 0  # the update told them


def test_planning_supersedes_a_queued_digest_whose_times_changed(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db, ("a@acme.example",))
    settings = settings_for(db_url, tmp_path)
    week = NOW + timedelta(days=7)
    first = plan_notices(db, week, settings)  # one digest: FIRST and pe.tue.20270216
    assert [d.occurrences for d in first.digests] == [(FIRST, "pe.tue.20270216")]
    _move(db, "pe.tue.20270216", datetime(2027, 2, 17, 5, tzinfo=UTC), week + timedelta(hours=1))
    again = plan_notices(db, week + timedelta(hours=2), settings)
    assert [d.occurrences for d in again.digests] == [(FIRST, "pe.tue.20270216")]
    assert [s[1] for s in statuses(db)] == ["superseded", "queued"]
    assert [c[2:5] for c in covers(db)[2:]] == [
        (FIRST_START, FIRST_END, 0),
        (datetime(2027, 2, 17, 5, tzinfo=UTC), datetime(2027, 2, 17, 11, tzinfo=UTC), 1),
    ]


def test_a_cancellation_supersedes_any_unsent_announcement(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db, ("a@acme.example",))
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)
    with db.transaction() as session:
        product = session.scalar(select(Product.id).where(Product.key == "pe"))
        assert product is not None
        session.add(
            Override(
                product_id=product,
                occurrence_id=FIRST,
                action="cancel",
                reason="freeze",
                created_at=NOW,
                customer_id=None,
            )
        )
        session.flush()
        item = find_occurrence(session, FIRST, "acme")
        assert item is not None and item.status == "cancelled"
        enqueue_change_notices(session, NOW, settings, [item], "cancel")
    assert [s[1] for s in statuses(db)] == ["superseded", "queued"]
    assert notices_status(db, NOW, settings).counts == {
        "queued": 1,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "superseded": 1,
    }
    # A planning run does not announce the cancelled occurrence again.
    assert plan_notices(db, NOW + timedelta(hours=1), settings).deliveries == 0


def test_planning_reads_local_rules_and_customer_specific_changes_per_customer(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    build(db, ("a@acme.example",))
    before = NOW - timedelta(days=7)
    catalogue.add_customer(db, before, "zeta", "Zeta Pty", "Australia/Sydney", ["ops@zeta.example"])
    catalogue.subscribe(db, before, "zeta", ["pe"])
    local = WeeklyRule("pe", "local", "local", date(2027, 2, 9), None, None, days=(1,), start=time(0), end=time(6))
    catalogue.add_window(db, before, local)
    moved = FIRST_START + timedelta(hours=3)
    with db.transaction() as session:
        product = session.scalar(select(Product.id).where(Product.key == "pe"))
        zeta = session.scalar(select(Customer.id).where(Customer.key == "zeta"))
        session.add(
            Override(
                product_id=product,
                occurrence_id=FIRST,
                customer_id=zeta,
                action="move",
                new_start=moved,
                new_end=moved + timedelta(hours=6),
                reason="zeta only",
                customer_consent=True,
                created_at=before,
            )
        )
    result = plan_notices(db, NOW, settings_for(db_url, tmp_path))
    assert [(d.customer, d.occurrences) for d in result.digests] == [
        ("acme", ("pe.local.20270209.acme", FIRST)),  # 00:00 in London is 00:00Z
        ("zeta", ("pe.local.20270209.zeta", FIRST)),  # 00:00 in Sydney is 13:00Z the day before
    ]
    assert [(c[0], c[1], c[2], c[4]) for c in covers(db)] == [
        ("a@acme.example", "pe.local.20270209.acme", datetime(2027, 2, 9, 0, tzinfo=UTC), 0),
        ("a@acme.example", FIRST, FIRST_START, 0),
        ("ops@zeta.example", "pe.local.20270209.zeta", datetime(2027, 2, 8, 13, tzinfo=UTC), 0),
        ("ops@zeta.example", FIRST, moved, 1),
    ]


def test_status_lists_the_soonest_deadlines_and_counts_every_delivery_at_risk(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    """Issue 11: the listing is bounded (memory flat whatever the backlog); the count is not."""
    build(db)
    settings = settings_for(db_url, tmp_path)
    plan_notices(db, NOW, settings)
    near = FIRST_DEADLINE - timedelta(hours=71)
    warning = timedelta(hours=settings.deadline_warning_hours)
    with db.transaction() as session:
        assert [(d.id, d.customer, d.kind) for d in at_risk(session, near, warning, limit=2)] == [
            (1, "acme", "announce"),
            (2, "acme", "announce"),
        ]
        assert at_risk_count(session, near, warning) == 3
        assert at_risk_count(session, NOW, warning) == 0
    status = notices_status(db, near, settings)
    assert (len(status.at_risk), status.at_risk_total) == (3, 3)
