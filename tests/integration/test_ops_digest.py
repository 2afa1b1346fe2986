"""The ops digest of new blackout conflicts (issue 14), on SQLite and PostgreSQL, over real SMTP.

NOW = Monday 2027-01-04 12:00Z; the catalogue of ``blackout_fixtures``. Deccan (Asia/Kolkata)
declares 2027-02-08 00:00 - 2027-02-12 00:00 local: the product-wide ``pw.nightly`` of Tue 9 and
Thu 11 Feb (00:00-03:00 New York) collide with it. The horizon is 30 notice days + 7 lead days + 1.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import select

from scheduler.blackouts import declare
from scheduler.blackouts.ops_digest import OpsDigest, queue_ops_digest
from scheduler.notices import outbox_status
from scheduler.notices.worker import run_worker, send_due
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models_blackouts import OpsReported
from scheduler.store.models_outbox import Delivery, DeliveryAttempt, Notice
from tests.integration.blackout_fixtures import NOW, load
from tests.smtp_server import FaultHandler, ServerThread
from windows.blackouts import parse_once

OPS = "Vendor ops <ops@vendor.example>"

FIRST_BODY = """\
2 new blackout conflict(s) found at 2027-01-04T12:00:00Z: product-wide occurrences in a
customer's blackout (or a local one that cannot move within its notice period). Move or cancel
each occurrence, or keep it with 'maintcal conflicts resolve OCCURRENCE --customer C --override
--reason TEXT'. 'maintcal conflicts' lists them all.

- pw.nightly.20270209 (product pw), customer deccan
  blackout 1 'Stock audit'
  2027-02-09T05:00:00Z - 2027-02-09T08:00:00Z
  unresolved, notice deadline 2027-01-10T05:00:00Z
- pw.nightly.20270211 (product pw), customer deccan
  blackout 1 'Stock audit'
  2027-02-11T05:00:00Z - 2027-02-11T08:00:00Z
  unresolved, notice deadline 2027-01-12T05:00:00Z
"""


def settings(db_url: str, tmp_path: Path, smtp_url: str | None = None, ops: str | None = OPS) -> Settings:
    return Settings(
        database_url=db_url,
        smtp_url=smtp_url,
        pickup_dir=tmp_path / "pickup",
        uid_domain="test.example",
        ops_address=ops,
    )


@pytest.fixture
def loaded(db: Database) -> Database:
    load(db)
    return db


def audit(db: Database, s: Settings, customer: str = "deccan", label: str = "Stock audit") -> None:
    spec = parse_once("2027-02-08T00:00", "2027-02-12T00:00")
    declare.add_blackout(db, NOW, s, customer, spec, label)


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")


def test_new_conflicts_are_mailed_to_ops_once(
    loaded: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    s = settings(db_url, tmp_path, smtp_url=server.url)
    assert queue_ops_digest(loaded, NOW, s) is None  # no blackout yet: nothing to report
    audit(loaded, s)  # queues deccan's CANCEL of its own two 'local' occurrences: notice 1, delivery 1
    digest = queue_ops_digest(loaded, NOW, s)
    assert digest is not None
    assert (digest.notice, digest.delivery, digest.message_id) == (
        2,
        2,
        "<20270104120000.ops.2.maintcal@test.example>",
    )
    assert [(c.occurrence, c.customer, c.blackout) for c in digest.conflicts] == [
        ("pw.nightly.20270209", "deccan", 1),
        ("pw.nightly.20270211", "deccan", 1),
    ]
    assert queue_ops_digest(loaded, NOW + timedelta(minutes=5), s) is None  # nothing new: nothing queued
    stats = send_due(loaded, s, lambda: NOW + timedelta(minutes=1))
    assert (stats.sent, stats.failed) == (2, 0)
    [to_ops] = [r for r in handler.received if r.recipients == ("ops@vendor.example",)]
    message = message_from_bytes(to_ops.data)
    assert (message["Subject"], message["To"], message["X-Maintcal-Notice"], message["Message-ID"]) == (
        "maintcal: 2 new blackout conflict(s)",
        OPS,
        "ops-conflicts",
        "<20270104120000.ops.2.maintcal@test.example>",
    )
    assert body(message) == FIRST_BODY
    with loaded.transaction() as session:
        notice = session.get(Notice, 2)
        assert notice is not None
        assert (notice.kind, notice.customer_id) == ("ops-conflicts", None)
        delivery = session.get(Delivery, 2)
        assert delivery is not None
        assert (delivery.email, delivery.status, delivery.attempts, delivery.contact_id) == (
            "ops@vendor.example",
            "sent",
            1,
            None,
        )
        attempts = session.scalars(select(DeliveryAttempt.outcome).where(DeliveryAttempt.delivery_id == 2)).all()
        assert attempts == ["sent"]
        assert session.execute(
            select(
                OpsReported.occurrence_id, OpsReported.customer_id, OpsReported.blackout_id, OpsReported.notice_id
            ).order_by(OpsReported.id)
        ).all() == [("pw.nightly.20270209", 1, 1, 2), ("pw.nightly.20270211", 1, 1, 2)]

    # Thames declares the same days: only its two conflicts are new.
    audit(loaded, s, "thames", "Quarter close")  # notice 3 (thames' CANCEL)
    later = queue_ops_digest(loaded, NOW + timedelta(hours=1), s)
    assert later is not None
    assert (later.notice, later.delivery) == (4, 4)
    assert [(c.occurrence, c.customer, c.blackout, c.label) for c in later.conflicts] == [
        ("pw.nightly.20270209", "thames", 2, "Quarter close"),
        ("pw.nightly.20270211", "thames", 2, "Quarter close"),
    ]


def test_no_ops_address_no_digest(loaded: Database, db_url: str, tmp_path: Path) -> None:
    s = settings(db_url, tmp_path, ops=None)
    audit(loaded, s)
    assert queue_ops_digest(loaded, NOW, s) is None
    with loaded.transaction() as session:
        assert session.scalars(select(Notice.kind).order_by(Notice.id)).all() == ["cancel"]


def test_a_conflict_beyond_the_horizon_waits_until_it_enters_it(loaded: Database, db_url: str, tmp_path: Path) -> None:
    s = settings(db_url, tmp_path)
    audit(loaded, s)
    # 2027-01-03T12:00Z + 38 days = 2027-02-10T12:00Z: only Tuesday's occurrence is within the horizon.
    early = queue_ops_digest(loaded, NOW - timedelta(days=1), s)
    assert early is not None
    assert [c.occurrence for c in early.conflicts] == ["pw.nightly.20270209"]
    later = queue_ops_digest(loaded, NOW, s)
    assert later is not None
    assert [c.occurrence for c in later.conflicts] == ["pw.nightly.20270211"]


def test_several_workers_queue_the_digest_once(loaded: Database, db_url: str, tmp_path: Path) -> None:
    s = settings(db_url, tmp_path)
    audit(loaded, s)
    start = threading.Barrier(4)
    results: list[OpsDigest | None] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            results.append(queue_ops_digest(loaded, NOW, s))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    queued = [r for r in results if r is not None]
    assert [[c.occurrence for c in r.conflicts] for r in queued] == [["pw.nightly.20270209", "pw.nightly.20270211"]]
    with loaded.transaction() as session:
        assert session.scalars(select(Notice.kind).order_by(Notice.id)).all() == ["cancel", "ops-conflicts"]
        assert len(session.scalars(select(OpsReported.id)).all()) == 2


def test_the_worker_loop_queues_and_sends_the_digest(
    loaded: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    s = settings(db_url, tmp_path, smtp_url=server.url)
    audit(loaded, s)
    clock: list[datetime] = [NOW]
    run_worker(loaded, s, lambda: clock[0], interval=60, iterations=2, sleep=lambda _: None)
    to_ops = [r for r in handler.received if r.recipients == ("ops@vendor.example",)]
    # The planning run queued the customers' digests first (notices 2-9).
    assert [r.message_id for r in to_ops] == ["<20270104120000.ops.10.maintcal@test.example>"]
    assert body(message_from_bytes(to_ops[0].data)) == FIRST_BODY


def test_a_refused_ops_digest_is_listed_as_failed_for_ops(
    loaded: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    s = settings(db_url, tmp_path, smtp_url=server.url)
    audit(loaded, s)
    digest = queue_ops_digest(loaded, NOW, s)
    assert digest is not None
    handler.rcpt = {"ops@vendor.example": ["550 5.1.1 no such user"]}
    stats = send_due(loaded, s, lambda: NOW + timedelta(minutes=1))
    assert (stats.sent, stats.failed) == (1, 1)
    with loaded.transaction() as session:
        [failed] = outbox_status.failed(session)
    assert (failed.id, failed.customer, failed.kind, failed.email, failed.status) == (
        2,
        "(ops)",
        "ops-conflicts",
        "ops@vendor.example",
        "failed",
    )
