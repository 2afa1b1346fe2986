"""The drain loop with an in-memory outbox and senders at the edge (no database, no network)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

import pytest

from notifications.delivery import Envelope, Outcome, classify
from notifications.drain import Pace, Result, drain

NOW = datetime(2027, 1, 4, 12, tzinfo=UTC)


class MemoryOutbox:
    """Hands out envelopes in order; ``stolen`` keys are taken over by another drainer meanwhile."""

    def __init__(
        self, count: int, *, claim_seconds: float = 0.0, complete_seconds: float = 0.0, stolen: Collection[int] = ()
    ) -> None:
        self.due = [Envelope(n, "m@x.example", (f"r{n}@x.example",), b"\r\n", f"<{n}@x>") for n in range(count)]
        self.claim_seconds = claim_seconds
        self.complete_seconds = complete_seconds
        self.calls: list[int] = []
        self.stolen = set(stolen)
        self.done: list[Result] = []
        self.claims: list[int] = []
        self.renewed: list[int] = []
        self.abandoned: list[int] = []

    def claim(self, limit: int) -> list[Envelope]:
        time.sleep(self.claim_seconds)  # a worker standing still between its claim and its sends
        taken, self.due = self.due[:limit], self.due[limit:]
        self.claims.append(len(taken))
        return taken

    def renew(self, keys: Collection[int]) -> set[int]:
        self.renewed.extend(keys)
        return set(keys) - self.stolen

    def complete(self, results: Sequence[Result]) -> None:
        time.sleep(self.complete_seconds)  # a database write
        self.done.extend(results)
        self.calls.append(len(results))

    def abandon(self, envelope: Envelope) -> None:
        self.abandoned.append(envelope.key)


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


class SlowFirstSender:
    """Envelope 0 takes ``seconds`` (a relay stuck on it); the others go at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sent: list[int] = []

    async def send(self, envelope: Envelope) -> dict[str, Outcome]:
        if envelope.key == 0:
            await asyncio.sleep(self.seconds)
        self.sent.append(envelope.key)
        return dict.fromkeys(envelope.recipients, classify(250, "OK"))

    async def close(self) -> None:
        return None


def test_every_claimed_envelope_is_reported_even_when_the_sender_raises(caplog: pytest.LogCaptureFixture) -> None:
    outbox = MemoryOutbox(10)
    EdgeSender.opened = 0
    done: list[int] = []
    stats = asyncio.run(drain(outbox, EdgeSender, lambda: NOW, connections=3, batch=4, progress=done.append))
    assert sorted(r.envelope.key for r in outbox.done) == list(range(10))
    assert (stats.sent, stats.retried, stats.failed, stats.abandoned) == (9, 1, 0, 0)
    [failed] = [r for r in outbox.done if r.envelope.key == 3]
    assert failed.outcomes == {"r3@x.example": Outcome("retry", None, "unexpected error: RuntimeError: boom")}
    assert sum(done) == 10 and EdgeSender.opened == 3
    assert sum(outbox.claims) == 10 and max(outbox.claims) <= 4
    assert "sending <3@x> failed unexpectedly" in caplog.text


def test_a_connection_claims_one_until_it_knows_its_pace_then_what_fits_the_lease() -> None:
    outbox = MemoryOutbox(10)
    stats = asyncio.run(drain(outbox, EdgeSender, lambda: NOW, connections=1, batch=4, lease=300))
    assert outbox.claims == [1, 4, 4, 1, 0]
    assert [r.envelope.key for r in outbox.done] == list(range(10))  # each recorded as it happened
    assert (stats.handled, outbox.renewed, outbox.abandoned) == (10, [], [])


@pytest.mark.parametrize(
    ("seconds", "lease", "batch", "size"),
    [(0.001, 300, 50, 50), (0.5, 3, 10, 1), (6.0, 300, 50, 12), (30.0, 60, 50, 1), (0.4, 20, 50, 12)],
)
def test_claims_fit_a_quarter_of_the_lease(seconds: float, lease: float, batch: int, size: int) -> None:
    pace = Pace(lease, batch)
    assert pace.claim_size() == 1
    pace.observe(seconds)
    assert pace.claim_size() == size


def test_the_lease_of_the_message_on_the_wire_is_renewed_until_it_is_sent() -> None:
    outbox = MemoryOutbox(3)
    sender = SlowFirstSender(0.5)
    stats = asyncio.run(drain(outbox, lambda: sender, lambda: NOW, connections=1, batch=4, lease=0.3))
    assert sender.sent == [0, 1, 2]
    assert set(outbox.renewed) == {0}  # every 0.1 s while it was on the wire; the others went at once
    assert (stats.sent, stats.abandoned) == (3, 0)


def test_an_envelope_whose_lease_was_taken_over_before_it_began_is_never_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The claim takes 0.2 s of a 0.3 s lease: less than half is left, so the lease is renewed
    # before sending; envelope 1's was taken over meanwhile, so it is left to the other worker.
    outbox = MemoryOutbox(3, claim_seconds=0.2, stolen={1})
    sender = SlowFirstSender(0.0)
    stats = asyncio.run(drain(outbox, lambda: sender, lambda: NOW, connections=1, batch=4, lease=0.3))
    assert sender.sent == [0, 2]
    assert outbox.abandoned == [1]
    assert [r.envelope.key for r in outbox.done] == [0, 2]
    assert (stats.sent, stats.abandoned) == (2, 1)
    assert "lease on <1@x> lost before sending; left to the worker that took it" in caplog.text


def test_outcomes_that_arrive_while_a_write_runs_are_recorded_together() -> None:
    # Sends take no time and each write 0.2 s: the first write records what had arrived, the
    # rest queue up meanwhile (each task at most RECORD_BEHIND ahead) and go in the next writes.
    outbox = MemoryOutbox(20, complete_seconds=0.2)
    done: list[int] = []
    stats = asyncio.run(drain(outbox, EdgeSender, lambda: NOW, connections=2, batch=10, progress=done.append))
    assert sorted(r.envelope.key for r in outbox.done) == list(range(20))
    assert sum(outbox.calls) == 20 and len(outbox.calls) <= 4 and done == outbox.calls
    assert (stats.sent, stats.retried) == (19, 1)


class BrokenOutbox(MemoryOutbox):
    """The database went away after the claims: recording fails."""

    def complete(self, results: Sequence[Result]) -> None:
        raise ConnectionError("database unreachable")


def test_a_failing_writer_stops_the_drain_with_its_error() -> None:
    outbox = BrokenOutbox(6)
    with pytest.raises(ConnectionError, match="database unreachable"):
        asyncio.run(drain(outbox, EdgeSender, lambda: NOW, connections=2, batch=3))
    assert outbox.done == []  # nothing recorded: the leases bring the claimed envelopes back
