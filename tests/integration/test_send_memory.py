"""Sending keeps nothing per message (issue 11: ``notices send`` memory flat in the backlog).

A drain over the real outbox (SQLite and PostgreSQL) to a pickup directory: each task holds at most
``CLAIM_BYTES`` of claimed messages (one message more only when a single one is larger), nothing
claimed stays in the outbox's bookkeeping, no envelope or result outlives the drain, and the
address-check cache stops at its 4,096 entries however many addresses go out.
"""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from notifications import addresses
from notifications.delivery import SENT, Envelope, Outcome
from notifications.drain import CLAIM_BYTES, Result, drain
from notifications.pickup import PickupSender
from scheduler.notices.outbox import DbOutbox
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models_outbox import Delivery, Notice
from tests.unit.test_drain import MemoryOutbox

NOW = datetime(2027, 1, 4, 12, tzinfo=UTC)
SIZE = 65_536  # bytes of each message: CLAIM_BYTES holds 16 of them


def queue(db: Database, count: int, size: int) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            insert(Notice),
            [{"id": n + 1, "kind": "announce", "method": "PUBLISH", "created_at": NOW} for n in range(count)],
        )
        connection.execute(
            insert(Delivery),
            [
                {
                    "notice_id": n + 1,
                    "email": f"ops@c{n:04d}.example.com",
                    "message_id": f"<{n}@send-memory.example>",
                    "mime": (f"Message-ID: <{n}@send-memory.example>\r\n\r\n".encode()).ljust(size, b"x"),
                    "status": "queued",
                    "next_attempt_at": NOW,
                    "created_at": NOW,
                }
                for n in range(count)
            ],
        )


class Measured(DbOutbox):
    """The database outbox, noting each claim's count and bytes (numbers only: it keeps no message)."""

    claims: list[tuple[int, int]]

    def claim(self, limit: int) -> list[Envelope]:
        envelopes = super().claim(limit)
        self.claims.append((len(envelopes), sum(len(e.message) for e in envelopes)))
        return envelopes


def alive(kind: type) -> int:
    gc.collect()
    return sum(1 for thing in gc.get_objects() if type(thing) is kind)


def test_a_drain_holds_claims_within_their_byte_budget_and_keeps_nothing(db: Database, tmp_path: Path) -> None:
    queue(db, 120, SIZE)
    envelopes_before, results_before = alive(Envelope), alive(Result)
    box = Measured(db, Settings(database_url="sqlite://", pickup_dir=tmp_path), lambda: NOW + timedelta(minutes=1))
    box.claims = []
    # A long lease: claims are sized by bytes, not by the time a message takes on a busy machine.
    stats = asyncio.run(drain(box, lambda: PickupSender(tmp_path), box.clock, connections=2, batch=50, lease=36_000))
    assert (stats.sent, stats.retried, stats.failed, stats.failures) == (120, 0, 0, [])
    counts = [count for count, _ in box.claims]
    assert sum(counts) == 120 and counts[-2:] == [0, 0]  # each task ends on an empty claim
    assert max(counts) == CLAIM_BYTES // SIZE == 16  # 50 (the batch) without the byte budget
    assert max(size for _, size in box.claims) == 16 * SIZE
    assert box._claimed == {}
    assert (alive(Envelope), alive(Result)) == (envelopes_before, results_before)
    assert len(list(tmp_path.glob("*.eml"))) == 120
    with db.transaction() as session:
        assert session.scalar(select(func.count()).where(Delivery.status == "sent")) == 120


def test_the_address_cache_stops_at_4096_entries_whatever_the_backlog() -> None:
    addresses._checked.cache_clear()
    outbox = MemoryOutbox(5_000)  # 5,000 distinct recipients

    class Accepting:
        async def send(self, envelope: Envelope) -> dict[str, Outcome]:
            return dict.fromkeys(envelope.recipients, Outcome(SENT, 250, "ok"))

        async def close(self) -> None:
            return None

    stats = asyncio.run(drain(outbox, Accepting, lambda: NOW, connections=2, batch=50))
    info = addresses._checked.cache_info()
    assert (stats.sent, info.currsize, info.misses) == (5_000, 4_096, 5_000)
