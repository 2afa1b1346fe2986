"""Superseding unsent notices: a queued PUBLISH that gives an occurrence times it no longer has is
never sent (DESIGN §3), and its digest rows no longer count as told.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from scheduler.store.models_outbox import QUEUED, SUPERSEDED, Delivery, DeliveryOccurrence
from windows.schedule import Scheduled
from windows.timezones import format_utc


def outdated_by(session: Session, customer_id: int, items: Sequence[Scheduled], *, cancel: bool) -> set[int]:
    """Queued PUBLISH deliveries to the customer giving ``items`` other times (any times: ``cancel``)."""
    if not items:
        return set()
    conditions = [
        DeliveryOccurrence.occurrence_id == s.id
        if cancel
        else and_(
            DeliveryOccurrence.occurrence_id == s.id,
            or_(DeliveryOccurrence.start != s.start, DeliveryOccurrence.end != s.end),
        )
        for s in items
    ]
    query = (
        select(Delivery.id)
        .join(DeliveryOccurrence, DeliveryOccurrence.delivery_id == Delivery.id)
        .where(
            Delivery.status == QUEUED,
            DeliveryOccurrence.customer_id == customer_id,
            DeliveryOccurrence.method == "PUBLISH",
            or_(*conditions),
        )
    )
    return set(session.scalars(query))


def supersede(session: Session, now: datetime, ids: Iterable[int]) -> list[int]:
    """Mark queued deliveries superseded (never sent); their digest rows no longer count as told.

    Deliveries claimed meanwhile are left alone (they may be on the wire). Returns those marked.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return []
    done = list(
        session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(wanted), Delivery.status == QUEUED)
            # due_key freed: a lifecycle notice for these times may be queued again if they come back
            .values(
                status=SUPERSEDED,
                due_key=None,
                last_error=f"superseded at {format_utc(now)} by a notice with current times",
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    if done:
        session.execute(
            update(DeliveryOccurrence)
            .where(DeliveryOccurrence.delivery_id.in_(done))
            .values(announced_to=None)
            .execution_options(synchronize_session=False)
        )
    return sorted(done)
