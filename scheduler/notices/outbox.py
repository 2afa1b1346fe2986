"""The outbox table as a queue: claiming with a lease, recording outcomes and every attempt.

Claiming is one statement, ``UPDATE deliveries ... WHERE id IN (due ids) RETURNING ...``: on
PostgreSQL the inner SELECT takes ``FOR UPDATE SKIP LOCKED`` so concurrent workers never claim the
same row; on SQLite (which ignores FOR UPDATE) the single UPDATE runs under the database's write
lock, which gives the same guarantee. A claimed delivery is ``sending`` until its lease expires;
a worker killed meanwhile leaves it there, and the next claim after the lease takes it back,
flagged *uncertain* (it may have gone out), to be sent again with the same Message-ID.

A worker renews the lease of the delivery it has on the wire, and renews (or gives up) the lease
of a claimed delivery before it begins sending it; each outcome is recorded as soon as it is
known: the outcomes that arrive while the worker's previous write runs are recorded together in
the next one (``complete_many``: one transaction, one executemany per kind of write). A "sent"
is recorded even when the lease was lost meanwhile (the worker stood still past it): it ends the
delivery, and the other worker's attempt is the uncertain one.

Every claim inserts an ``in-flight`` attempt row that the completion fills in (sent, retry,
failed); a reclaimed delivery's dangling attempt becomes ``lease-expired``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, insert, or_, select, update

from notifications.delivery import FAILED as OUTCOME_FAILED
from notifications.delivery import RETRY, SENT, Envelope, Outcome, backoff
from notifications.drain import Result
from notifications.message import parse_mailbox
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models_endpoints import Endpoint
from scheduler.store.models_outbox import FAILED, QUEUED, SENDING, Delivery, DeliveryAttempt

IN_FLIGHT, LEASE_EXPIRED = "in-flight", "lease-expired"

log = logging.getLogger("maintcal.outbox")


def worker_name() -> str:
    """``host:pid:random``: who holds a lease (unique even across restarts with the same pid)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Claimed:
    envelope: Envelope
    attempt: int
    uncertain: bool


def claim(db: Database, now: datetime, owner: str, limit: int, lease_seconds: int, sender: str) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries (queued and due, or with an expired lease) to ``owner``."""
    due = (
        select(Delivery.id)
        .where(
            or_(
                and_(Delivery.status == QUEUED, Delivery.next_attempt_at <= now),
                and_(Delivery.status == SENDING, Delivery.lease_expires_at <= now),
            )
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    if db.is_postgres:
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(
            status=SENDING,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=Delivery.attempts + 1,
            uncertain=case((Delivery.status == SENDING, True), else_=Delivery.uncertain),
        )
        .returning(
            Delivery.id,
            Delivery.email,
            Delivery.message_id,
            Delivery.mime,
            Delivery.attempts,
            Delivery.uncertain,
            Delivery.channel,
            Delivery.endpoint_id,
        )
        .execution_options(synchronize_session=False)
    )
    with db.transaction() as session:
        rows = list(session.execute(statement).all())
        if not rows:
            return []
        ids = [row.id for row in rows]
        session.execute(
            update(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(ids), DeliveryAttempt.outcome == IN_FLIGHT)
            .values(
                outcome=LEASE_EXPIRED,
                finished_at=now,
                uncertain=True,
                detail="the worker stopped reporting before its lease expired; the message may have gone out",
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(
            insert(DeliveryAttempt),
            [
                {
                    "delivery_id": row.id,
                    "number": row.attempts,
                    "worker": owner,
                    "started_at": now,
                    "finished_at": None,
                    "outcome": IN_FLIGHT,
                    "uncertain": row.uncertain,
                    "code": None,
                    "detail": None,
                }
                for row in rows
            ],
        )
        wanted = {row.endpoint_id for row in rows if row.endpoint_id is not None}
        endpoints = (
            {e.id: (e.url, e.secret) for e in session.scalars(select(Endpoint).where(Endpoint.id.in_(wanted)))}
            if wanted
            else {}
        )
    rows.sort(key=lambda row: row.id)
    return [
        Claimed(
            Envelope(
                row.id,
                sender,
                (row.email if row.endpoint_id is None else f"{row.channel} endpoint {row.endpoint_id}",),
                row.mime,
                row.message_id,
                channel=row.channel,
                target=endpoints.get(row.endpoint_id, (None, None))[0] if row.endpoint_id is not None else None,
                secret=endpoints.get(row.endpoint_id, (None, None))[1] if row.endpoint_id is not None else None,
            ),
            row.attempts,
            row.uncertain,
        )
        for row in rows
    ]


def renew(db: Database, now: datetime, owner: str, keys: Collection[int], lease_seconds: int) -> set[int]:
    """Extend ``owner``'s leases on ``keys`` to ``now + lease_seconds``; returns the keys it still holds.

    A lease that ran out is still renewed while no other worker has taken the delivery over.
    """
    if not keys:
        return set()
    with db.transaction() as session:
        return set(
            session.scalars(
                update(Delivery)
                .where(Delivery.id.in_(sorted(keys)), Delivery.lease_owner == owner, Delivery.status == SENDING)
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
        )


_DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]
_ATTEMPTS: Table = DeliveryAttempt.__table__  # type: ignore[assignment]
_OUTCOME: dict[str, Any] = {
    "status": bindparam("b_status"),
    "next_attempt_at": bindparam("b_next"),
    "lease_owner": None,
    "lease_expires_at": None,
    "sent_at": bindparam("b_sent_at"),
    "failed_at": bindparam("b_failed_at"),
    "last_code": bindparam("b_code"),
    "last_error": bindparam("b_error"),
}
_ID = _DELIVERIES.c.id == bindparam("b_id")
# Built once (the statement cache then skips compiling them); each runs as one executemany per batch.
_HELD = (
    _DELIVERIES.update()
    .where(_ID, _DELIVERIES.c.lease_owner == bindparam("b_owner"), _DELIVERIES.c.status == SENDING)
    .values(**_OUTCOME, uncertain=bindparam("b_uncertain"))
)
_TAKE_OVER = (
    _DELIVERIES.update()
    .where(_ID, _DELIVERIES.c.status.in_([QUEUED, SENDING, FAILED]))
    .values(**_OUTCOME, uncertain=True)
)
_OTHERS_UNCERTAIN = (
    _ATTEMPTS.update()
    .where(
        _ATTEMPTS.c.delivery_id == bindparam("b_id"),
        _ATTEMPTS.c.outcome == IN_FLIGHT,
        _ATTEMPTS.c.worker != bindparam("b_owner"),
    )
    .values(uncertain=True)
)
_ATTEMPT = (
    _ATTEMPTS.c.delivery_id == bindparam("b_id"),
    _ATTEMPTS.c.number == bindparam("b_number"),
    _ATTEMPTS.c.worker == bindparam("b_owner"),
)
_FINISH = (
    _ATTEMPTS.update()
    .where(*_ATTEMPT)
    .values(
        finished_at=bindparam("b_finished"),
        outcome=bindparam("b_outcome"),
        uncertain=bindparam("b_attempt_uncertain"),
        code=bindparam("b_code"),
        detail=bindparam("b_detail"),
    )
)
_ABANDON = (
    _ATTEMPTS.update()
    .where(*_ATTEMPT)
    .values(
        outcome=LEASE_EXPIRED,
        uncertain=False,
        detail="the lease expired before this worker began sending; it did not send the message",
    )
)


def complete(
    db: Database, owner: str, settings: Settings, claimed: Claimed, outcome: Outcome, finished: datetime
) -> str:
    """Record one outcome (``complete_many`` of one); returns its verdict."""
    return complete_many(db, owner, settings, [(claimed, outcome, finished)])[0]


Done = tuple[Claimed, Outcome, datetime]


def complete_many(db: Database, owner: str, settings: Settings, done: Sequence[Done]) -> list[str]:
    """Record outcomes in one transaction: sent, retry later (backoff), or failed; one verdict each.

    The lease holder's outcome decides the delivery. Without the lease (this worker stood still
    past it and another one took the delivery over), only a "sent" still counts, because it is a
    fact: it ends the delivery as sent, flagged uncertain, and the other worker's attempt is the
    uncertain one; if the delivery was already sent, this attempt is the uncertain duplicate. Any
    other outcome without the lease only fills in this worker's attempt (a superseded delivery
    stays superseded; its attempt says sent). Verdicts: ``"held"``, ``"taken-over"`` (sent without
    the lease), ``"duplicate"`` or ``"lost"`` (lease lost, not sent).

    The deliveries are read (locked, on PostgreSQL) once, and each kind of write is one
    executemany, whatever the number of outcomes: the worker's writer records what arrived while
    its previous transaction ran, all at once (group commit).
    """
    if len({c.envelope.key for c, _, _ in done}) < len(done):  # one delivery twice: one after the other
        return [verdict for item in done for verdict in complete_many(db, owner, settings, [item])]
    params = [_params(owner, settings, claimed, outcome, finished) for claimed, outcome, finished in done]
    ids = sorted(p["b_id"] for p in params)
    verdicts: list[str] = []
    with db.engine.begin() as connection:
        if not db.is_postgres:  # a write first: SQLite takes its write lock at once (no stale read)
            connection.execute(_FINISH, params)
        read = select(_DELIVERIES.c.id, _DELIVERIES.c.lease_owner, _DELIVERIES.c.status).where(
            _DELIVERIES.c.id.in_(ids)
        )
        if db.is_postgres:  # in id order, as every claim and renewal locks them: no deadlock
            read = read.order_by(_DELIVERIES.c.id).with_for_update()
        state = {row.id: (row.lease_owner, row.status) for row in connection.execute(read)}
        held, taken, duplicates = [], [], []
        for p, (_, outcome, _) in zip(params, done, strict=True):
            lease_owner, status = state.get(p["b_id"], (None, None))
            if lease_owner == owner and status == SENDING:
                verdicts.append("held")
                held.append(p)
            elif outcome.status != SENT:
                verdicts.append("lost")
            elif status in (QUEUED, SENDING, FAILED):
                verdicts.append("taken-over")
                taken.append(p)
            else:
                verdicts.append("duplicate")
                p["b_attempt_uncertain"] = True
                duplicates.append(p)
        if held:
            connection.execute(_HELD, held)
        if taken:
            connection.execute(_TAKE_OVER, taken)
            connection.execute(_OTHERS_UNCERTAIN, taken)
        if db.is_postgres:
            connection.execute(_FINISH, params)
        elif duplicates:
            connection.execute(_FINISH, duplicates)
    return verdicts


def _params(owner: str, settings: Settings, claimed: Claimed, outcome: Outcome, finished: datetime) -> dict[str, Any]:
    status = {SENT: "sent", RETRY: QUEUED, OUTCOME_FAILED: FAILED}[outcome.status]
    delay = backoff(
        claimed.attempt,
        base=settings.retry_base_seconds,
        cap=settings.retry_cap_seconds,
        key=claimed.envelope.message_id,
    )
    if outcome.retry_after is not None:  # the receiver's Retry-After, within the backoff's cap
        delay = max(delay, timedelta(seconds=min(outcome.retry_after, settings.retry_cap_seconds)))
    return {
        "b_id": claimed.envelope.key,
        "b_owner": owner,
        "b_number": claimed.attempt,
        "b_status": status,
        "b_next": finished + delay if status == QUEUED else finished,
        "b_uncertain": claimed.uncertain or outcome.uncertain,
        "b_sent_at": finished if outcome.status == SENT else None,
        "b_failed_at": finished if outcome.status == OUTCOME_FAILED else None,
        "b_code": outcome.code,
        "b_error": None if outcome.status == SENT else outcome.describe(),
        "b_finished": finished,
        "b_outcome": outcome.status,
        "b_attempt_uncertain": outcome.uncertain,
        "b_detail": outcome.detail,
    }


def abandon(db: Database, owner: str, claimed: Claimed) -> None:
    """Record that ``owner`` never sent ``claimed``: its lease was lost before it began."""
    with db.engine.begin() as connection:
        connection.execute(_ABANDON, {"b_id": claimed.envelope.key, "b_number": claimed.attempt, "b_owner": owner})


class DbOutbox:
    """``notifications.drain.Outbox`` over the deliveries table, for one worker (``owner``)."""

    def __init__(
        self, db: Database, settings: Settings, clock: Callable[[], datetime], owner: str | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.owner = owner or worker_name()
        self.sender = parse_mailbox(settings.mail_from, "MAINTCAL_MAIL_FROM").addr_spec
        self._claimed: dict[int, Claimed] = {}

    def claim(self, limit: int) -> list[Envelope]:
        claimed = claim(self.db, self.clock(), self.owner, limit, self.settings.lease_seconds, self.sender)
        self._claimed.update((c.envelope.key, c) for c in claimed)
        return [c.envelope for c in claimed]

    def renew(self, keys: Collection[int]) -> set[int]:
        return renew(self.db, self.clock(), self.owner, keys, self.settings.lease_seconds)

    def complete(self, results: Sequence[Result]) -> None:
        done = [
            (self._claimed[result.envelope.key], outcome, result.finished_at)
            for result in results
            for outcome in result.outcomes.values()  # one recipient per delivery
        ]
        verdicts = complete_many(self.db, self.owner, self.settings, done)
        for result in results:
            self._claimed.pop(result.envelope.key, None)
        for (claimed, _, _), verdict in zip(done, verdicts, strict=True):
            if verdict == "taken-over":
                log.warning(
                    "%s was sent after this worker's lease ran out: recorded as sent", claimed.envelope.message_id
                )
            elif verdict == "duplicate":
                log.warning("%s was sent again after another worker had sent it", claimed.envelope.message_id)

    def abandon(self, envelope: Envelope) -> None:
        abandon(self.db, self.owner, self._claimed.pop(envelope.key))
