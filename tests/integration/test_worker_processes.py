"""Crash safety and concurrency with real worker processes, a real SMTP server, both databases.

- A sending process killed with SIGKILL mid-batch, then a new one: every delivery ends sent, and
  only deliveries in flight at the kill may arrive twice (with the same Message-ID).
- Four processes draining one outbox at once: every Message-ID arrives exactly once.

The processes read the real clock, so the queued deliveries are made due "now" first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from scheduler.db import Database
from scheduler.models_outbox import Delivery, DeliveryAttempt
from scheduler.notices import enqueue_change_notices
from scheduler.schedule import find_occurrence
from tests.integration.notice_fixtures import FIRST, NOW, build, settings_for
from tests.smtp_server import FaultHandler, smtp_server

CLI = [sys.executable, "-c", "from cli import main; main()"]


def queue(db: Database, db_url: str, tmp_path: Path, count: int) -> list[str]:
    """``count`` deliveries, due at the real clock; returns their Message-IDs."""
    build(db, tuple(f"c{n:03d}@acme.example" for n in range(count)))
    with db.transaction() as session:
        item = find_occurrence(session, FIRST, "acme")
        assert item is not None
        assert enqueue_change_notices(session, NOW, settings_for(db_url, tmp_path), [item], "update") == count
        session.execute(update(Delivery).values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1)))
    with db.transaction() as session:
        return list(session.scalars(select(Delivery.message_id).order_by(Delivery.id)))


def environment(db_url: str, smtp_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINTCAL_")}
    env.update(
        MAINTCAL_DATABASE_URL=db_url,
        MAINTCAL_SMTP_URL=smtp_url,
        MAINTCAL_PICKUP_DIR=str(tmp_path / "unused"),
        MAINTCAL_SMTP_CONNECTIONS="2",
        MAINTCAL_SEND_BATCH="5",
        MAINTCAL_SMTP_TIMEOUT="60",
        **extra,
    )
    return env


def wait_for(condition: object, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def statuses(db: Database) -> Counter[str]:
    with db.transaction() as session:
        return Counter(dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()))


def test_sigkill_mid_batch_then_restart(db: Database, db_url: str, tmp_path: Path) -> None:
    ids = queue(db, db_url, tmp_path, 40)
    handler = FaultHandler(delay=0.05)
    server = smtp_server(handler)
    try:
        env = environment(db_url, server.url, tmp_path, MAINTCAL_LEASE_SECONDS="2")
        first = subprocess.Popen([*CLI, "notices", "send", "--once"], env=env, cwd=tmp_path)
        wait_for(lambda: len(handler.received) >= 8)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
        assert first.returncode == -signal.SIGKILL
        with db.transaction() as session:
            in_flight = set(session.scalars(select(Delivery.message_id).where(Delivery.status == "sending")))
        assert in_flight, "the kill should catch a batch in flight"
        assert statuses(db)["sent"] < 40
        # The new process waits for the dead one's leases to expire, then sends everything left.
        second = subprocess.run(
            [*CLI, "notices", "send"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180
        )
        assert second.returncode == 0, second.stderr
    finally:
        server.stop()
    assert statuses(db) == Counter({"sent": 40})
    received = Counter(handler.message_ids())
    assert set(received) == set(ids)
    twice = {mid for mid, n in received.items() if n > 1}
    assert twice <= in_flight
    with db.transaction() as session:
        uncertain = set(session.scalars(select(Delivery.message_id).where(Delivery.uncertain.is_(True))))
        expired = session.scalar(select(func.count()).where(DeliveryAttempt.outcome == "lease-expired"))
    assert twice <= uncertain == in_flight
    assert expired == len(in_flight)


def test_four_processes_send_each_message_exactly_once(db: Database, db_url: str, tmp_path: Path) -> None:
    ids = queue(db, db_url, tmp_path, 120)
    gate = threading.Event()
    handler = FaultHandler(gate=gate)
    server = smtp_server(handler)
    try:
        env = environment(db_url, server.url, tmp_path)
        workers = [
            subprocess.Popen([*CLI, "notices", "send", "--once"], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
            for _ in range(4)
        ]
        # Hold every reply until all eight connections (4 processes x 2) have claimed a batch.
        wait_for(lambda: handler.sessions >= 8)
        gate.set()
        for worker in workers:
            _, err = worker.communicate(timeout=180)
            assert worker.returncode == 0, err
    finally:
        gate.set()
        server.stop()
    received = Counter(handler.message_ids())
    assert received == Counter(dict.fromkeys(ids, 1))
    assert statuses(db) == Counter({"sent": 120})
    with db.transaction() as session:
        owners = set(session.scalars(select(DeliveryAttempt.worker)))
        tries = set(session.scalars(select(DeliveryAttempt.number)))
    assert len(owners) == 4
    assert tries == {1}
