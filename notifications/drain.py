"""Draining an outbox: N tasks, each with its own connection, claiming a few envelopes at a time.

The outbox (a database table in ``scheduler``) is reached through the ``Outbox`` protocol; its
blocking calls run in a thread so the other connections keep sending meanwhile. Leases, not
locks, keep two drainers off the same envelope, so a task:

- claims only what it can send well within the lease (fewer when the relay is slow, learnt from
  how long its messages take; at most ``batch``);
- renews the lease of the envelope on the wire every third of the lease, and before it begins an
  envelope whose lease may be running out; one whose lease was lost (this process stood still
  longer than the lease and another drainer took it over) is left alone, never sent;
- records each outcome as soon as it is known, while the next message goes out: one writer per
  drain records, in one call, every outcome that arrived while its previous call ran (group
  commit), so a fast channel costs one transaction per batch of outcomes, not per message; a
  task runs at most ``RECORD_BEHIND`` outcomes ahead of the writer.

A task stops when nothing more is due (or when ``stop`` is set, before its next claim); whatever it
claimed and could not report is reclaimed by the lease, never lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol, TypeVar

from notifications.addresses import address_problem
from notifications.delivery import FAILED, RETRY, SENT, Envelope, Outcome, Sender

log = logging.getLogger("maintcal.drain")

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class Result:
    envelope: Envelope
    outcomes: dict[str, Outcome]
    finished_at: datetime


class Outbox(Protocol):
    def claim(self, limit: int) -> list[Envelope]:
        """Lease up to ``limit`` due envelopes to this drainer."""
        ...

    def renew(self, keys: Collection[int]) -> set[int]:
        """Extend the leases on ``keys``; returns those this drainer still holds."""
        ...

    def complete(self, results: Sequence[Result]) -> None:
        """Record the outcomes of claimed envelopes, together (a known "sent" even without the lease)."""
        ...

    def abandon(self, envelope: Envelope) -> None:
        """Note that a claimed envelope was not sent: its lease was lost before it began."""
        ...


@dataclass
class DrainStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    connections: int = 0
    abandoned: int = 0  # claimed, then left to another drainer that took the lease over
    failures: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed

    def add(self, result: Result) -> None:
        for recipient, outcome in result.outcomes.items():
            if outcome.status == SENT:
                self.sent += 1
            elif outcome.status == RETRY:
                self.retried += 1
                self.uncertain += outcome.uncertain
            elif outcome.status == FAILED:
                self.failed += 1
                self.failures.append(f"{recipient}: {outcome.describe()}")


@dataclass
class Pace:
    """How long one message takes on this connection (a moving average), and what fits a lease and
    the memory a task may hold.

    A claim holds its messages' bytes until they are sent (and twice while the database driver
    hands them over), so it is sized by bytes too: at most ``CLAIM_BYTES`` of messages of the
    average size seen so far.

    >>> pace = Pace(lease=300, batch=50)
    >>> pace.claim_size(), pace.observe(2.0), pace.claim_size()
    (1, None, 37)
    >>> pace.observe(30.0), pace.claim_size()
    (None, 7)
    >>> fast = Pace(lease=300, batch=50, seconds=0.01)
    >>> fast.claim_size(), fast.observe_sizes([100_000, 120_000]), fast.claim_size()
    (50, None, 9)
    """

    lease: float
    batch: int
    seconds: float | None = None
    message_bytes: float | None = None

    def observe(self, seconds: float) -> None:
        self.seconds = seconds if self.seconds is None else 0.7 * self.seconds + 0.3 * seconds

    def observe_sizes(self, sizes: Sequence[int]) -> None:
        """The sizes of the messages just claimed."""
        if not sizes:
            return
        mean = sum(sizes) / len(sizes)
        self.message_bytes = mean if self.message_bytes is None else 0.7 * self.message_bytes + 0.3 * mean

    def claim_size(self) -> int:
        """Up to ``batch``, as many as are sent in a quarter of the lease (one until measured) and
        as fit in ``CLAIM_BYTES``."""
        if self.seconds is None:
            return 1
        by_time = int(self.lease / 4 / max(self.seconds, 1e-6))
        by_bytes = int(CLAIM_BYTES // self.message_bytes) if self.message_bytes else self.batch
        return max(1, min(self.batch, by_time, by_bytes))


async def drain(
    outbox: Outbox,
    make_sender: Callable[[], Sender],
    clock: Callable[[], datetime],
    *,
    connections: int = 4,
    batch: int = 25,
    lease: float = 300,
    progress: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> DrainStats:
    """Send everything the outbox hands out until it has nothing due; returns what happened.

    ``lease`` is the outbox's lease in seconds: claims are sized to fit well within it and the
    lease of each message on the wire is renewed every third of it.
    """
    stats = DrainStats()
    renew_every = lease / 3
    writer = _Writer(outbox, stats, progress)
    # Claims, renewals and abandons in one thread of their own (not asyncio's pool of up to 32):
    # each thread that reads messages keeps a malloc arena as large as the most it ever held.
    leasing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-lease")

    async def call(function: Callable[[_T], _R], argument: _T) -> _R:
        return await asyncio.get_running_loop().run_in_executor(leasing, function, argument)

    async def send_holding_lease(sender: Sender, envelope: Envelope) -> dict[str, Outcome]:
        sending = asyncio.ensure_future(_send(sender, envelope))
        try:
            while True:
                done, _ = await asyncio.wait({sending}, timeout=renew_every)
                if done:
                    return sending.result()
                try:
                    held = envelope.key in await call(outbox.renew, [envelope.key])
                except Exception:  # never abandon a message on the wire: its outcome is recorded anyway
                    log.exception("renewing the lease on %s failed", envelope.message_id)
                    continue
                if not held:
                    log.warning("lease on %s lost while sending; its outcome is still recorded", envelope.message_id)
        finally:
            sending.cancel()

    async def run_one() -> None:
        sender = make_sender()
        pace = Pace(lease, batch)
        waiting: deque[Envelope] = deque()
        leased_until: dict[int, float] = {}  # monotonic time by which each claimed lease ends (at the latest)
        recording: deque[asyncio.Future[None]] = deque()  # this task's outcomes not yet recorded
        try:
            while True:
                if not waiting:
                    if stop is not None and stop.is_set():
                        return
                    started = time.monotonic()
                    envelopes = await call(outbox.claim, pace.claim_size())
                    if not envelopes:
                        return
                    pace.observe_sizes([len(e.message) for e in envelopes])
                    waiting.extend(envelopes)
                    leased_until.update((e.key, started + lease) for e in envelopes)
                envelope = waiting.popleft()
                begin = time.monotonic()
                if leased_until.pop(envelope.key) - begin < lease / 2:
                    if envelope.key not in await call(outbox.renew, [envelope.key]):
                        log.warning(
                            "lease on %s lost before sending; left to the worker that took it", envelope.message_id
                        )
                        await call(outbox.abandon, envelope)
                        stats.abandoned += 1
                        continue
                    begin = time.monotonic()
                outcomes = await send_holding_lease(sender, envelope)
                pace.observe(time.monotonic() - begin)
                recording.append(writer.record(Result(envelope, outcomes, clock())))
                while len(recording) > RECORD_BEHIND or (recording and recording[0].done()):
                    await recording.popleft()
        finally:
            try:  # every outcome this task sent is recorded (or the writer's error is raised) before it ends
                outcomes_recorded = await asyncio.gather(*recording, return_exceptions=True)
                for failed in outcomes_recorded:
                    if isinstance(failed, BaseException):
                        raise failed
            finally:
                stats.connections += getattr(sender, "connections", 0)
                await sender.close()

    try:
        await asyncio.gather(*(run_one() for _ in range(max(1, connections))))
    finally:
        writer.close()
        leasing.shutdown()
    return stats


CLAIM_BYTES = 1 << 20  # message bytes a task claims at a time, at most (but always one message)
RECORD_BEHIND = 8  # outcomes a sending task may have waiting for the writer before it waits too
RECORD_MAX = 200  # outcomes recorded in one call at most


class _Writer:
    """Records outcomes in order, in one thread (SQLite has one writer; the sends go on meanwhile).

    What arrives while a call runs goes into the next call, all together: each outcome is
    recorded as soon as the writer is free, and a fast channel costs one call per batch.
    """

    def __init__(self, outbox: Outbox, stats: DrainStats, progress: Callable[[int], None] | None) -> None:
        self.outbox = outbox
        self.stats = stats
        self.progress = progress
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-record")
        self.waiting: list[tuple[Result, asyncio.Future[None]]] = []
        self.running: asyncio.Task[None] | None = None

    def record(self, result: Result) -> asyncio.Future[None]:
        """Queue ``result``; the future is done when it is recorded (or failed to be)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((result, done))
        if self.running is None or self.running.done():
            self.running = asyncio.ensure_future(self._write())
        return done

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while self.waiting:
            batch, self.waiting = self.waiting[:RECORD_MAX], self.waiting[RECORD_MAX:]
            try:
                await loop.run_in_executor(self.thread, self.outbox.complete, [result for result, _ in batch])
            except Exception as error:  # the database is away: the senders stop, the leases bring it back
                for _, done in batch:
                    done.set_exception(error)
                continue
            for result, done in batch:
                self.stats.add(result)
                done.set_result(None)
            if self.progress is not None:
                self.progress(len(batch))

    def close(self) -> None:
        self.thread.shutdown()


async def _send(sender: Sender, envelope: Envelope) -> dict[str, Outcome]:
    """Send one envelope; a recipient that is not a valid address fails alone, permanently.

    Addresses are checked when they are entered and when a message is composed; this last check
    covers messages queued before that (or by hand), so that one bad recipient never stops a batch.
    """
    outcomes = {
        r: Outcome(FAILED, None, f"not sent: {p}")
        for r in envelope.recipients
        if envelope.channel == "email" and (p := address_problem(r))
    }
    valid = tuple(r for r in envelope.recipients if r not in outcomes)
    if not valid:
        return outcomes
    try:
        outcomes.update(await sender.send(replace(envelope, recipients=valid)))
    except Exception as error:  # a bug must not lose the batch: retry it later
        log.exception("sending %s failed unexpectedly", envelope.message_id)
        detail = f"unexpected error: {type(error).__name__}: {error}"
        outcomes.update(dict.fromkeys(valid, Outcome(RETRY, None, detail)))
    return outcomes
