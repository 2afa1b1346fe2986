"""Who was told what about an occurrence, when, over which channel: ``maintcal deliveries`` (DESIGN §11).

Read-only. Every delivery that covered the occurrence (any customer's view of it), email or
endpoint, with its state: queued (and when it is due), sent, failed or superseded (never sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from scheduler.store.db import Database
from scheduler.store.models import Customer
from scheduler.store.models_outbox import Delivery, DeliveryOccurrence, Notice


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    occurrence: str
    customer: str
    channel: str
    recipient: str
    kind: str
    event: str | None
    status: str
    attempts: int
    start: datetime  # the occurrence's times as this delivery gave them
    end: datetime
    sequence: int
    due_at: datetime  # queued: when it is (next) due
    sent_at: datetime | None
    message_id: str  # the Message-ID (email) or the webhook-id

    @property
    def webhook_id(self) -> str | None:
        return None if self.channel == "email" else self.message_id


def deliveries_for(db: Database, occurrence_id: str) -> list[DeliveryRecord]:
    """Every delivery about ``occurrence_id`` (``<product>.<rule>.<date>``: every customer's view of
    it, ``local`` ones included), oldest first."""
    with db.transaction() as session:
        rows = session.execute(
            select(Delivery, DeliveryOccurrence, Notice.kind, Customer.key)
            .join(DeliveryOccurrence, DeliveryOccurrence.delivery_id == Delivery.id)
            .join(Notice, Notice.id == Delivery.notice_id)
            .join(Customer, Customer.id == Notice.customer_id)
            .where(
                or_(
                    DeliveryOccurrence.occurrence_id == occurrence_id,
                    func.substr(DeliveryOccurrence.occurrence_id, 1, len(occurrence_id) + 1) == occurrence_id + ".",
                )
            )
            .order_by(Delivery.created_at, Delivery.id)
        )
        return [
            DeliveryRecord(
                d.id,
                cover.occurrence_id,
                customer,
                d.channel,
                d.email,
                kind,
                d.event,
                d.status,
                d.attempts,
                cover.start,
                cover.end,
                cover.sequence,
                d.next_attempt_at,
                d.sent_at,
                d.message_id,
            )
            for d, cover, kind, customer in rows
        ]
