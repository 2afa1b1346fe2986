"""Blackouts, change freezes and conflict resolutions (DESIGN §9, issue 14).

A blackout belongs to one customer and is stored as declared (local times of the customer's zone,
or a yearly/monthly spec), so its UTC intervals follow the zone's rules when they change. A freeze
is the vendor's: per product (``product_id``) or for all products (NULL), stored in UTC with the
zone and local times it was declared in. A removed blackout that was active stays, ``removed``, so
that the occurrences it cancelled or moved come back at a higher SEQUENCE (``effects``); so does a
removed freeze (``removed_at`` set). A conflict resolution records ops' decision to proceed with a
product-wide occurrence in a customer's blackout.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.store.base import Base

ACTIVE, PENDING, REJECTED, REMOVED = "active", "pending", "rejected", "removed"


class Blackout(Base):
    """A customer's blackout: ``once`` (local start/end), ``yearly`` or ``monthly`` (spec text)."""

    __tablename__ = "blackouts"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # once | yearly | monthly
    local_start: Mapped[str | None] = mapped_column(String(19))  # once: "YYYY-MM-DDTHH:MM:SS"
    local_end: Mapped[str | None] = mapped_column(String(19))
    spec: Mapped[str | None] = mapped_column(String(20))  # yearly "11-22:11-30", monthly "last-3" | "1-2"
    status: Mapped[str] = mapped_column(String(16))  # active | pending | rejected | removed (was active)
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    # Who declared or removed it in the customer portal (the contact's address); NULL: ops (CLI,
    # catalogue file) or the API.
    declared_by: Mapped[str | None] = mapped_column(String(320))
    removed_by: Mapped[str | None] = mapped_column(String(320))


class Freeze(Base):
    """A vendor change freeze over one product or all (``product_id`` NULL)."""

    __tablename__ = "freezes"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime]
    end: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]  # set: removed, kept so that SEQUENCE never goes down


class ConflictResolution(Base):
    """Ops proceed with product-wide occurrence ``occurrence_id`` despite a customer's blackout."""

    __tablename__ = "conflict_resolutions"
    __table_args__ = (UniqueConstraint("occurrence_id", "customer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    occurrence_id: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class OpsReported(Base):
    """A conflict (occurrence x customer x blackout) that an ops digest listed: never listed again.

    The unique key makes two workers that find the same new conflicts report each once: the
    second one's insert adds nothing (``ON CONFLICT DO NOTHING``), so its digest leaves it out.
    """

    __tablename__ = "ops_reported_conflicts"
    __table_args__ = (UniqueConstraint("occurrence_id", "customer_id", "blackout_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    blackout_id: Mapped[int] = mapped_column(ForeignKey("blackouts.id", ondelete="CASCADE"), index=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    reported_at: Mapped[datetime]
