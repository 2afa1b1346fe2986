"""Issue 9 §4: one bad contact never silences the others (SQLite and PostgreSQL, real aiosmtpd).

Addresses are checked at every entry now; these tests put a bad one straight into the database,
as an older version could have stored it, and check that it fails for its own contact only:
planning, change notices and sending go on for everyone else, and the worker still sends what is
queued when a planning pass fails.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from scheduler.catalogue import edits as catalogue
from scheduler.notices.outbox_status import notices_status
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import run_worker, send_due
from scheduler.occurrences import unplanned
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer
from scheduler.store.models_outbox import Delivery, DeliveryAttempt
from tests.integration.notice_fixtures import CONTACTS, FIRST, NOW, build, settings_for
from tests.smtp_server import FaultHandler, ServerThread
from windows.errors import InvalidInput

BAD = {
    "noc)@nile.example.com": "it contains invalid characters before the @-sign: ')'",
    "a[b@x": "it contains invalid characters before the @-sign: '['",
    "a@x..com": "an email address cannot have two periods in a row",
    "a:b@x.com": "it contains invalid characters before the @-sign: ':'",
    "a\x1bb@acme.example": "it contains invalid characters before the @-sign: U+001B",
}
SHOWN = {"a\x1bb@acme.example": "a\\x1bb@acme.example"}  # how an error line writes the address
NILE = "ops@nile.example.com"


def problem(address: str) -> str:
    return f"invalid email address '{SHOWN.get(address, address)}': {BAD[address]}"


def with_bad_contact(db: Database, address: str) -> None:
    """acme (a, b, c @acme.example) plus ``address`` stored as an old version could; nile, one contact."""
    build(db)
    before = NOW - timedelta(days=7)
    catalogue.add_customer(db, before, "nile", "Nile Logistics", "Africa/Cairo", [NILE])
    catalogue.subscribe(db, before, "nile", ["pe"])
    with db.transaction() as session:
        acme = session.scalars(select(Customer).where(Customer.key == "acme")).one()
        session.add(Contact(customer_id=acme.id, email=address, nominated_at=before))


def outbox(db: Database, event: str | None = None) -> list[tuple[str, str, str | None]]:
    """The deliveries sent at once (``event``: only those of this event, lifecycle ones included)."""
    with db.transaction() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id))
        return [
            (d.email, d.status, d.last_error)
            for d in rows
            if (d.due_key is None if event is None else d.event == event)
        ]


@pytest.mark.parametrize("address", list(BAD))
def test_every_bad_address_is_refused_at_entry(db: Database, address: str) -> None:
    build(db)
    for attempt in (
        lambda: catalogue.add_contact(db, NOW, "acme", address),
        lambda: catalogue.add_customer(db, NOW, "nile", "Nile", "UTC", [NILE, address]),
    ):
        with pytest.raises(InvalidInput) as refused:
            attempt()
        assert refused.value.message == problem(address)
    assert [c.key for c in catalogue.list_customers(db)] == ["acme"]
    assert catalogue.list_customers(db)[0].contacts == list(CONTACTS)


@pytest.mark.parametrize("address", list(BAD))
def test_a_stored_bad_address_fails_alone_when_planning(
    db: Database, db_url: str, tmp_path: Path, address: str
) -> None:
    with_bad_contact(db, address)
    settings = settings_for(db_url, tmp_path)
    result = plan_notices(db, NOW, settings)
    assert sorted((d.customer, d.email, d.occurrences, d.problem or "") for d in result.digests) == sorted(
        [
            *[("acme", c, (FIRST,), "") for c in CONTACTS],
            ("acme", address, (FIRST,), problem(address)),
            ("nile", NILE, (FIRST,), ""),
        ]
    )
    assert sorted(outbox(db), key=str) == sorted(
        [*[(c, "queued", None) for c in CONTACTS], (address, "failed", f"not sent: {problem(address)}"),
         (NILE, "queued", None)],
        key=str,
    )  # fmt: skip
    # Recorded once: the next passes neither fail nor queue it again.
    assert plan_notices(db, NOW + timedelta(hours=1), settings).digests == []
    status = notices_status(db, NOW, settings)
    assert status.counts == {"queued": 4, "sending": 0, "sent": 0, "failed": 1, "superseded": 0}
    assert [(f.customer, f.email, f.last_error) for f in status.failed] == [
        ("acme", address, f"not sent: {problem(address)}")
    ]


def test_planning_and_sending_go_on_for_everyone_else(
    db: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    address = "noc)@nile.example.com"
    with_bad_contact(db, address)
    settings = settings_for(db_url, tmp_path, smtp_url=server.url, smtp_connections=1)
    assert plan_notices(db, NOW, settings).deliveries == 4  # and one recorded as failed
    stats = send_due(db, settings, lambda: NOW + timedelta(minutes=1))
    assert (stats.sent, stats.retried, stats.failed) == (4, 0, 0)
    assert sorted(m.recipients for m in handler.received) == [(c,) for c in (*CONTACTS, NILE)]
    assert sorted((email, status) for email, status, _ in outbox(db)) == sorted(
        [*[(c, "sent") for c in (*CONTACTS, NILE)], (address, "failed")]
    )


def test_unplanned_maintenance_is_declared_and_told_to_every_good_contact(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    address = "a:b@x.com"
    with_bad_contact(db, address)
    settings = settings_for(db_url, tmp_path)
    result = unplanned.declare(
        db, NOW, settings, "pe", customers=[], start=NOW, duration=timedelta(hours=1), reason="database failover"
    )
    assert (result.info.id, result.affected, result.deliveries) == ("pe.unplanned-1", ["acme", "nile"], 4)
    assert sorted(outbox(db), key=str) == sorted(
        [*[(c, "queued", None) for c in CONTACTS], (address, "failed", f"not sent: {problem(address)}"),
         (NILE, "queued", None)],
        key=str,
    )  # fmt: skip
    # The "finished" notice, due at the end, is queued for the same contacts (and fails for the bad one).
    assert sorted(outbox(db, "occurrence.finished"), key=str) == sorted(outbox(db), key=str)


def test_a_queued_message_to_a_bad_address_fails_alone_when_sent(
    db: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    """A delivery queued before addresses were checked: the sender refuses its recipient, sends the rest."""
    build(db)
    settings = settings_for(db_url, tmp_path, smtp_url=server.url, smtp_connections=1)
    assert plan_notices(db, NOW, settings).deliveries == 3
    address = "a\x1bb@acme.example"
    with db.transaction() as session:
        session.execute(update(Delivery).where(Delivery.email == CONTACTS[1]).values(email=address))
    stats = send_due(db, settings, lambda: NOW + timedelta(minutes=1))
    assert (stats.sent, stats.retried, stats.failed) == (2, 0, 1)
    assert stats.failures == [f"{address}: not sent: {problem(address)}"]
    assert [m.recipients for m in handler.received] == [(CONTACTS[0],), (CONTACTS[2],)]
    assert outbox(db) == [
        (CONTACTS[0], "sent", None),
        (address, "failed", f"not sent: {problem(address)}"),
        (CONTACTS[2], "sent", None),
    ]
    with db.transaction() as session:
        attempts = session.execute(
            select(DeliveryAttempt.delivery_id, DeliveryAttempt.outcome, DeliveryAttempt.detail).order_by(
                DeliveryAttempt.delivery_id
            )
        ).all()
    assert [tuple(a) for a in attempts] == [
        (1, "sent", "OK: queued"),
        (2, "failed", f"not sent: {problem(address)}"),
        (3, "sent", "OK: queued"),
    ]


def test_the_worker_sends_what_is_queued_when_a_planning_pass_fails(
    db: Database,
    db_url: str,
    tmp_path: Path,
    handler: FaultHandler,
    server: ServerThread,
    caplog: pytest.LogCaptureFixture,
) -> None:
    build(db)
    settings: Settings = settings_for(db_url, tmp_path, smtp_url=server.url, smtp_connections=1)
    assert plan_notices(db, NOW, settings).deliveries == 3
    with db.transaction() as session:  # a row no version of maintcal accepts: every planning pass fails
        session.execute(text("UPDATE window_rules SET timezone = 'Mars/Base'"))
        session.execute(text("UPDATE data_version SET version = version + 1"))  # as every change does
    with pytest.raises(InvalidInput):
        plan_notices(db, NOW, settings)
    caplog.set_level(logging.INFO, logger="maintcal.worker")
    run_worker(db, settings, lambda: NOW + timedelta(minutes=1), interval=60, sleep=lambda _: None, iterations=1)
    assert sorted(m.recipients for m in handler.received) == [(c,) for c in CONTACTS]
    assert [status for _, status, _ in outbox(db)] == ["sent", "sent", "sent"]
    assert "planning notices failed; sending what is queued, planning again in 60 s" in caplog.text
