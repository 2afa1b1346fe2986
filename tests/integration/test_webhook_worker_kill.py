"""A worker process killed with SIGKILL while posting webhooks, then a new one (issue 15), on both
databases: every delivery ends sent, nothing is lost, and only deliveries in flight at the kill
may arrive twice, with the same ``webhook-id``."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from scheduler.catalogue import endpoints
from scheduler.notices.change_notices import enqueue_change_notices
from scheduler.occurrences.schedule import find_occurrence
from scheduler.store.db import Database
from scheduler.store.models_outbox import Delivery
from tests.integration.notice_fixtures import FIRST, NOW, build, settings_for
from tests.integration.test_worker_processes import CLI, environment, statuses, wait_for
from tests.webhook_receiver import Receiver


def test_sigkill_mid_batch_then_restart(db: Database, db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    receiver.replies = [(200, {}, 0.05)] * 200  # slow enough to be killed mid-batch
    conf = settings_for(db_url, tmp_path, webhook_allow_private=True)
    build(db, contacts=())
    for _ in range(40):
        endpoints.add_endpoint(db, NOW, conf, "acme", "webhook", receiver.url)
    with db.transaction() as session:
        item = find_occurrence(session, FIRST, "acme")
        assert item is not None
        enqueue_change_notices(session, NOW, conf, [item], "update")
        session.execute(update(Delivery).values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1)))
    with db.transaction() as session:
        ids = set(session.scalars(select(Delivery.message_id)))
    assert len(ids) == 40
    env = environment(db_url, "", tmp_path, MAINTCAL_LEASE_SECONDS="2", MAINTCAL_WEBHOOK_ALLOW_PRIVATE="1")
    first = subprocess.Popen([*CLI, "notices", "send", "--once"], env=env, cwd=tmp_path)
    wait_for(lambda: len(receiver.requests) >= 8)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(30)
    assert first.returncode == -signal.SIGKILL
    with db.transaction() as session:
        in_flight = set(session.scalars(select(Delivery.message_id).where(Delivery.status == "sending")))
    assert in_flight, "the kill should catch a batch in flight"
    second = subprocess.run(
        [*CLI, "notices", "send"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180
    )
    assert second.returncode == 0, second.stderr
    assert statuses(db) == Counter({"sent": 40})
    received = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert set(received) == ids
    assert {i for i, n in received.items() if n > 1} <= in_flight
