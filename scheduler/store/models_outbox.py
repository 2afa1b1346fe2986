"""The notice outbox: notices, one delivery per (notice, contact), what each covers, every attempt.

A delivery's MIME bytes and Message-ID are made once, when it is queued, in the same transaction
as the change (or the planning run) that causes it. ``delivery_occurrences`` records which
occurrence, at which start and end, each delivery told the contact about: compliance is computed
from it. Its unique key makes planning safe to run again: a digest row has ``announced_to`` set
(the contact's address), so one address is never announced the same occurrence at the same times
twice; change notices leave it NULL and are never deduplicated.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.store.base import Base

QUEUED, SENDING, SENT, FAILED, SUPERSEDED = "queued", "sending", "sent", "failed", "superseded"


class Notice(Base):
    """One notice to one customer: a planning run's digest or a change (update, cancel...)."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # announce | update | cancel | reschedule-* | ops-conflicts ...
    method: Mapped[str] = mapped_column(String(16))  # PUBLISH | CANCEL
    # NULL: a notice to ops (``scheduler.blackouts.ops_digest``), not to a customer.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="notice", order_by="Delivery.id")


class Delivery(Base):
    """One email to one contact, with its stored bytes and its sending state."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "contact_id"),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))  # the address, or the endpoint's URL (shortened)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    mime: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)  # queued | sending | sent | failed | superseded
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline: Mapped[datetime | None]  # earliest notice deadline among what it covers
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Channels and lifecycle notices (issue 15): email | webhook | slack | teams; the endpoint of
    # the last three; the event (``occurrence.reminder``...); ``due_key`` names a scheduled
    # lifecycle delivery (reminder, started, finished) so that planning it again adds nothing.
    channel: Mapped[str] = mapped_column(String(16), default="email", server_default="email")
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"), index=True)
    event: Mapped[str | None] = mapped_column(String(40))
    due_key: Mapped[str | None] = mapped_column(String(400), unique=True)
    notice: Mapped[Notice] = relationship(back_populates="deliveries")
    covers: Mapped[list[DeliveryOccurrence]] = relationship(
        back_populates="delivery", order_by="DeliveryOccurrence.id", cascade="all, delete-orphan"
    )


class DeliveryOccurrence(Base):
    """One occurrence, as a delivery described it (start, end, sequence in the customer's view)."""

    __tablename__ = "delivery_occurrences"
    # The product second: one product's rows of a customer are together for the SLA report; ``method``
    # and ``delivery_id`` carried in the index (PostgreSQL): compliance reads the index alone (0017).
    __table_args__ = (
        UniqueConstraint(
            "customer_id",
            "product_key",
            "occurrence_id",
            "start",
            "end",
            "announced_to",
            postgresql_include=["method", "delivery_id"],
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    # The delivery's notice's customer, repeated for the unique key's index; no foreign key of its
    # own: it checked every row a plan writes, and the rows go with their delivery (migration 0016).
    customer_id: Mapped[int] = mapped_column(Integer)
    occurrence_id: Mapped[str] = mapped_column(String(200))
    product_key: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime]
    end: Mapped[datetime]
    sequence: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(16))
    announced_to: Mapped[str | None] = mapped_column(String(320))  # digests only: the contact's address
    delivery: Mapped[Delivery] = relationship(back_populates="covers")


class DeliveryAttempt(Base):
    """One try at sending a delivery, recorded when claimed and completed with its outcome."""

    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))  # in-flight | sent | retry | failed | lease-expired
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
