"""The drain loop with an in-memory outbox and senders at the edge (no database, no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from notifications.delivery import Envelope, Outcome, classify
from notifications.drain import Result, drain

NOW = datetime(2027, 1, 4, 12, tzinfo=UTC)


class MemoryOutbox:
    def __init__(self, count: int) -> None:
        self.due = [Envelope(n, "m@x.example", (f"r{n}@x.example",), b"\r\n", f"<{n}@x>") for n in range(count)]
        self.done: list[Result] = []
        self.claims: list[int] = []

    def claim(self, limit: int) -> list[Envelope]:
        taken, self.due = self.due[:limit], self.due[limit:]
        self.claims.append(len(taken))
        return taken

    def complete(self, results: Sequence[Result]) -> None:
        self.done.extend(results)


class EdgeSender:
    """Accepts everything except envelope 3, where it raises (a bug must not lose the batch)."""

    opened = 0

    def __init__(self) -> None:
        EdgeSender.opened += 1

    async def send(self, envelope: Envelope) -> dict[str, Outcome]:
        if envelope.key == 3:
            raise RuntimeError("boom")
        return dict.fromkeys(envelope.recipients, classify(250, "OK"))

    async def close(self) -> None:
        return None


def test_every_claimed_envelope_is_reported_even_when_the_sender_raises(caplog: pytest.LogCaptureFixture) -> None:
    outbox = MemoryOutbox(10)
    EdgeSender.opened = 0
    done: list[int] = []
    stats = asyncio.run(drain(outbox, EdgeSender, lambda: NOW, connections=3, batch=4, progress=done.append))
    assert sorted(r.envelope.key for r in outbox.done) == list(range(10))
    assert (stats.sent, stats.retried, stats.failed) == (9, 1, 0)
    [failed] = [r for r in outbox.done if r.envelope.key == 3]
    assert failed.outcomes == {"r3@x.example": Outcome("retry", None, "unexpected error: RuntimeError: boom")}
    assert sum(done) == 10 and EdgeSender.opened == 3
    assert sorted(outbox.claims) == [0, 0, 0, 2, 4, 4]
    assert "sending <3@x> failed unexpectedly" in caplog.text
