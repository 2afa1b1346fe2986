"""Draining an outbox: N tasks, each with its own connection, claim a batch, send it, report back.

The outbox (a database table in ``scheduler``) is reached through the ``Outbox`` protocol; its
blocking calls run in a thread so the other connections keep sending meanwhile. A task stops when
nothing more is due (or when ``stop`` is set between batches); whatever it claimed and could not
report is reclaimed by the lease, never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from notifications.addresses import address_problem
from notifications.delivery import FAILED, RETRY, SENT, Envelope, Outcome, Sender

log = logging.getLogger("maintcal.drain")


@dataclass(frozen=True)
class Result:
    envelope: Envelope
    outcomes: dict[str, Outcome]
    finished_at: datetime


class Outbox(Protocol):
    def claim(self, limit: int) -> list[Envelope]:
        """Lease up to ``limit`` due envelopes to this drainer."""
        ...

    def complete(self, results: Sequence[Result]) -> None:
        """Record the outcomes of claimed envelopes."""
        ...


@dataclass
class DrainStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    connections: int = 0
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


async def drain(
    outbox: Outbox,
    make_sender: Callable[[], Sender],
    clock: Callable[[], datetime],
    *,
    connections: int = 4,
    batch: int = 25,
    progress: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> DrainStats:
    """Send everything the outbox hands out until it has nothing due; returns what happened."""
    stats = DrainStats()

    async def run_one() -> None:
        sender = make_sender()
        try:
            while stop is None or not stop.is_set():
                envelopes = await asyncio.to_thread(outbox.claim, batch)
                if not envelopes:
                    return
                results = []
                for envelope in envelopes:
                    results.append(Result(envelope, await _send(sender, envelope), clock()))
                await asyncio.to_thread(outbox.complete, results)
                for result in results:
                    stats.add(result)
                if progress is not None:
                    progress(len(results))
        finally:
            stats.connections += getattr(sender, "connections", 0)
            await sender.close()

    await asyncio.gather(*(run_one() for _ in range(max(1, connections))))
    return stats


async def _send(sender: Sender, envelope: Envelope) -> dict[str, Outcome]:
    """Send one envelope; a recipient that is not a valid address fails alone, permanently.

    Addresses are checked when they are entered and when a message is composed; this last check
    covers messages queued before that (or by hand), so that one bad recipient never stops a batch.
    """
    outcomes = {r: Outcome(FAILED, None, f"not sent: {p}") for r in envelope.recipients if (p := address_problem(r))}
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
