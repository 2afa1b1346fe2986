"""What the outbox holds: counts by status, what is due, deliveries at risk of missing their notice
deadline, failures. Read-only; ``maintcal notices status`` and the worker's warnings show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer
from scheduler.store.models_outbox import FAILED, QUEUED, SENDING, SUPERSEDED, Delivery, Notice

AT_RISK_SHOWN = 100  # deliveries listed; the rest are counted (memory stays flat whatever the backlog)


@dataclass(frozen=True)
class DeliveryInfo:
    id: int
    customer: str
    kind: str
    email: str
    message_id: str
    status: str
    attempts: int
    uncertain: bool
    deadline: datetime | None
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


def _info(session: Session, *criteria: Any, limit: int | None = None) -> list[DeliveryInfo]:
    """The deliveries matching ``criteria``, soonest deadline first: columns only, never the MIME body."""
    query = (
        select(
            Delivery.id,
            func.coalesce(Customer.key, "(ops)"),  # a notice to ops has no customer (issue 14)
            Notice.kind,
            Delivery.email,
            Delivery.message_id,
            Delivery.status,
            Delivery.attempts,
            Delivery.uncertain,
            Delivery.deadline,
            Delivery.next_attempt_at,
            Delivery.sent_at,
            Delivery.last_error,
        )
        .join(Notice, Notice.id == Delivery.notice_id)
        .outerjoin(Customer, Customer.id == Notice.customer_id)
        .where(*criteria)
        .order_by(Delivery.deadline, Delivery.id)
        .limit(limit)
    )
    return [
        DeliveryInfo(key, customer, kind, email, message_id, status, attempts, uncertain, deadline, due, sent, error)
        for key, customer, kind, email, message_id, status, attempts, uncertain, deadline, due, sent, error in (
            session.execute(query)
        )
    ]


def _at_risk_criteria(now: datetime, warning: timedelta) -> tuple[Any, ...]:
    return (Delivery.status.in_([QUEUED, SENDING]), Delivery.deadline.is_not(None), Delivery.deadline <= now + warning)


def at_risk(session: Session, now: datetime, warning: timedelta, limit: int = AT_RISK_SHOWN) -> list[DeliveryInfo]:
    """Unsent deliveries whose notice deadline is past or within ``warning`` of ``now`` (the ``limit`` soonest)."""
    return _info(session, *_at_risk_criteria(now, warning), limit=limit)


def at_risk_count(session: Session, now: datetime, warning: timedelta) -> int:
    """How many unsent deliveries are at risk (``at_risk`` lists at most ``AT_RISK_SHOWN`` of them)."""
    found = session.scalar(select(func.count()).select_from(Delivery).where(*_at_risk_criteria(now, warning)))
    return int(found or 0)


def failed(session: Session, limit: int = 50) -> list[DeliveryInfo]:
    return _info(session, Delivery.status == FAILED, limit=limit)


def counts(session: Session) -> dict[str, int]:
    found = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    return {status: int(found.get(status, 0)) for status in (QUEUED, SENDING, "sent", FAILED, SUPERSEDED)}


def channel_counts(session: Session) -> dict[str, dict[str, int]]:
    """Counts by status for each channel that has deliveries (email, webhook, slack, teams)."""
    found: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(Delivery.channel, Delivery.status, func.count()).group_by(Delivery.channel, Delivery.status)
    )
    for channel, status, count in rows:
        found.setdefault(channel, dict.fromkeys((QUEUED, SENDING, "sent", FAILED, SUPERSEDED), 0))[status] = int(count)
    return dict(sorted(found.items()))


def next_due(session: Session, now: datetime, *, retries_only: bool = False) -> tuple[int, datetime | None]:
    """How many deliveries can be claimed at ``now``, and when the next one that cannot becomes due.

    ``retries_only``: "next" leaves out deliveries never tried that are scheduled for later
    (reminders, started/finished notices): ``notices send`` does not wait days for them.
    """
    due_now = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            or_(
                and_(Delivery.status == QUEUED, Delivery.next_attempt_at <= now),
                and_(Delivery.status == SENDING, Delivery.lease_expires_at <= now),
            )
        )
    )
    waiting: ColumnElement[bool] = Delivery.status.in_([QUEUED, SENDING])
    if retries_only:
        waiting = and_(waiting, or_(Delivery.status == SENDING, Delivery.attempts > 0))
    later = session.scalar(
        select(
            func.min(case((Delivery.status == QUEUED, Delivery.next_attempt_at), else_=Delivery.lease_expires_at))
        ).where(waiting)
    )
    return int(due_now or 0), later


@dataclass(frozen=True)
class OutboxStatus:
    counts: dict[str, int]
    due_now: int
    next_attempt_at: datetime | None
    uncertain: int
    at_risk: list[DeliveryInfo]  # the AT_RISK_SHOWN soonest deadlines
    failed: list[DeliveryInfo]
    at_risk_total: int = 0  # every delivery at risk, listed or not
    channels: dict[str, dict[str, int]] | None = None  # counts per channel (email, webhook, slack, teams)


def notices_status(db: Database, now: datetime, settings: Settings) -> OutboxStatus:
    """The outbox at ``now``: counts, what is due, deliveries at risk of missing their deadline, failures."""
    with db.transaction() as session:
        due_now, later = next_due(session, now)
        uncertain = session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.uncertain.is_(True), Delivery.status != "sent")
        )
        warning = timedelta(hours=settings.deadline_warning_hours)
        return OutboxStatus(
            counts=counts(session),
            due_now=due_now,
            next_attempt_at=later,
            uncertain=int(uncertain or 0),
            at_risk=at_risk(session, now, warning),
            failed=failed(session),
            at_risk_total=at_risk_count(session, now, warning),
            channels=channel_counts(session),
        )
