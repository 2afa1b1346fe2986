"""What a sender is given (an envelope) and what it reports back, per recipient (an outcome).

Outcome classes (the issue's contract):

- ``sent``: a 2xx reply to DATA (or the pickup file written);
- ``retry``: a 4xx reply or a connection problem; retried later with capped exponential backoff
  and jitter, never dropped. ``uncertain`` marks a retry after the message may already have been
  delivered (the connection failed or timed out after DATA): it is resent with the same
  Message-ID, so the recipient's system can recognise the duplicate;
- ``failed``: a 5xx reply, permanent; reported, not retried.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

SENT, RETRY, FAILED = "sent", "retry", "failed"


@dataclass(frozen=True)
class Envelope:
    """One message to send: the outbox row's key, SMTP envelope and the stored MIME bytes."""

    key: int
    sender: str
    recipients: tuple[str, ...]
    message: bytes
    message_id: str  # the Message-ID, or a webhook delivery's ``webhook-id``
    channel: str = "email"  # email | webhook | slack | teams
    target: str | None = None  # the endpoint's URL (recipients then holds a label without secrets)
    secret: str | None = None  # the webhook signing secret (whsec_...)


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | retry | failed
    code: int | None
    detail: str
    uncertain: bool = False
    retry_after: float | None = None  # seconds the receiver asked to wait (HTTP Retry-After)

    def describe(self) -> str:
        return f"{self.code} {self.detail}" if self.code else self.detail


def classify(code: int, message: str) -> Outcome:
    """An SMTP reply as an outcome: 2xx sent, 4xx retry, 5xx (or anything else) failed.

    >>> classify(450, "4.2.0 greylisted").status, classify(550, "5.1.1 unknown").status
    ('retry', 'failed')
    """
    text = " ".join(message.split())
    if 200 <= code < 300:
        return Outcome(SENT, code, text)
    if 400 <= code < 500:
        return Outcome(RETRY, code, text)
    return Outcome(FAILED, code, text)


class Sender(Protocol):
    """Sends envelopes, reusing whatever connection it holds between calls."""

    async def send(self, envelope: Envelope) -> dict[str, Outcome]:
        """One outcome per recipient of ``envelope``; never raises for delivery problems."""
        ...

    async def close(self) -> None: ...


def backoff(attempt: int, *, base: float, cap: float, key: str = "") -> timedelta:
    """Delay before retry number ``attempt`` (1 = first retry): capped exponential, with jitter.

    The delay lies in [d/2, d] for d = min(cap, base * 2**(attempt-1)). The jitter is derived from
    ``key`` (the Message-ID) and the attempt, so retries of many deliveries spread out while each
    one's schedule is reproducible.

    >>> backoff(1, base=60, cap=3600, key="<a@b>").total_seconds()
    48.916
    >>> [backoff(n, base=60, cap=3600, key="x").total_seconds() <= 3600 for n in (7, 30)]
    [True, True]
    """
    exponent = min(max(attempt, 1) - 1, 30)
    delay = min(cap, base * 2**exponent)
    digest = hashlib.sha256(f"{key}/{attempt}".encode()).digest()
    fraction = int.from_bytes(digest[:2], "big") / 65535
    return timedelta(seconds=round(delay / 2 + delay / 2 * fraction, 3))
