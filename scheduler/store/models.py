"""SQLAlchemy models of the catalogue and of what happens to occurrences.

All instants are aware UTC (``UTCDateTime``). Keys are slugs. Migrations in ``migrations/`` create
these tables; a test checks that migrations and models agree.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.store.base import Base


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    notice_days: Mapped[int] = mapped_column(Integer, default=30)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    reschedule_cutoff_hours: Mapped[int] = mapped_column(Integer, default=72)
    reschedule_max_shift_days: Mapped[int] = mapped_column(Integer, default=14)
    # Blackouts (issue 14): what a collision of a local rule does, lead time, overridden counts as.
    on_blackout: Mapped[str] = mapped_column(String(8), default="skip", server_default="skip")
    blackout_lead_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    blackout_overridden_counts_as: Mapped[str] = mapped_column(
        String(16), default="downtime", server_default="downtime"
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    notice_channels: Mapped[str | None] = mapped_column(Text)  # JSON list the contract names; NULL: ["email"]
    rules: Mapped[list[WindowRule]] = relationship(back_populates="product", order_by="WindowRule.id")


class WindowRule(Base):
    __tablename__ = "window_rules"
    __table_args__ = (UniqueConstraint("product_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # weekly | cron | once
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name or "local"
    days: Mapped[str | None] = mapped_column(String(40))  # weekly: "tue,thu"
    start_time: Mapped[str | None] = mapped_column(String(5))  # weekly: "HH:MM"
    end_time: Mapped[str | None] = mapped_column(String(5))
    cron: Mapped[str | None] = mapped_column(String(120))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    once_start: Mapped[str | None] = mapped_column(String(19))  # local "YYYY-MM-DDTHH:MM:SS"
    once_end: Mapped[str | None] = mapped_column(String(19))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    label: Mapped[str | None] = mapped_column(String(200))
    waive_notice: Mapped[str | None] = mapped_column(Text)
    # When the rule in its current shape took effect: its occurrences begin here, unless
    # valid_from imports earlier ones (windows.rules). Set at creation and by shape changes.
    effective_from: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    product: Mapped[Product] = relationship(back_populates="rules")


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    reminders: Mapped[str | None] = mapped_column(Text)  # JSON list of lead times; NULL: the default
    lifecycle_notices: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    contacts: Mapped[list[Contact]] = relationship(back_populates="customer", order_by="Contact.id")
    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="customer", order_by="Subscription.id")


class Contact(Base):
    """A nominated contact. Removal sets ``removed_at``; re-adding creates a new row (history)."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    nominated_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    customer: Mapped[Customer] = relationship(back_populates="contacts")

    def active_at(self, instant: datetime) -> bool:
        return self.nominated_at <= instant and (self.removed_at is None or self.removed_at > instant)


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("customer_id", "product_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    customer: Mapped[Customer] = relationship(back_populates="subscriptions")
    product: Mapped[Product] = relationship()


class FeedToken(Base):
    """A customer's secret feed token, stored only as a SHA-256 hash."""

    __tablename__ = "feed_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ApiKey(Base):
    """A customer's API key for /api/v1, stored only as a SHA-256 hash."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


def _next_decision(context: Any) -> int:
    """Fallback for writers that do not number their decision (services call ``next_decision``
    before reading the state, which is what makes the number a faithful commit order)."""
    values = context.get_current_parameters()
    table = Override.__table__
    found = context.connection.scalar(
        select(func.max(table.c.decision)).where(
            table.c.product_id == values["product_id"], table.c.occurrence_id == values["occurrence_id"]
        )
    )
    return int(found or 0) + 1


class Override(Base):
    """A change to one occurrence: cancel or move, product-wide (customer NULL) or for one customer.

    ``decision`` numbers the decisions on one occurrence (product + base id) 1, 2, 3... in commit
    order: the unique key lets only one of two concurrent decisions take a number, the other is
    retried after it (``scheduler.occurrences.decisions``). Decisions are ordered by it, never by a clock.
    """

    __tablename__ = "overrides"
    __table_args__ = (
        UniqueConstraint("product_id", "occurrence_id", "decision"),
        Index("ix_overrides_product_customer", "product_id", "customer_id"),  # one customer's view (issue 11)
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    occurrence_id: Mapped[str] = mapped_column(String(200), index=True)  # base id, without customer suffix
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))  # cancel | move
    new_start: Mapped[datetime | None]
    new_end: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text)
    waived_reason: Mapped[str | None] = mapped_column(Text)
    customer_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[int] = mapped_column(Integer, default=_next_decision)
    created_at: Mapped[datetime]  # the deciding process's clock: shown, never used to order


class Unplanned(Base):
    """Unplanned (emergency) maintenance, id ``<product>.unplanned-<number>``."""

    __tablename__ = "unplanned"
    __table_args__ = (UniqueConstraint("product_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    start: Mapped[datetime]
    end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    declared_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    product: Mapped[Product] = relationship()
    customers: Mapped[list[UnplannedCustomer]] = relationship(cascade="all, delete-orphan")


class UnplannedCustomer(Base):
    """The customers an unplanned window is limited to (none: every subscriber of the product)."""

    __tablename__ = "unplanned_customers"
    unplanned_id: Mapped[int] = mapped_column(ForeignKey("unplanned.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)


ONE_PENDING = "uq_reschedule_requests_one_pending"
_PENDING = text("status = 'pending'")


class RescheduleRequest(Base):
    """A customer's request to move one occurrence; at most one pending per (occurrence, customer)."""

    __tablename__ = "reschedule_requests"
    __table_args__ = (
        Index(
            ONE_PENDING, "occurrence_id", "customer_id", unique=True, postgresql_where=_PENDING, sqlite_where=_PENDING
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    occurrence_id: Mapped[str] = mapped_column(String(200), index=True)  # full id as the customer sees it
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    proposed_start: Mapped[datetime]
    proposed_end: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | approved | rejected
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


class Outage(Base):
    """Measured downtime of a product (optionally of one customer's service)."""

    __tablename__ = "outages"
    __table_args__ = (UniqueConstraint("product_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    start: Mapped[datetime]
    end: Mapped[datetime]
    source: Mapped[str | None] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class DataVersion(Base):
    """One row: bumped by every change that can alter a feed, so caches in every process agree."""

    __tablename__ = "data_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime]


class FeedVersion(Base):
    """The data version at which feeds last changed, by what they depend on (issue 11).

    ``kind`` 'all' (``ref`` 0): a change that names nothing (every feed); 'product': that product's
    feed and every subscriber's; 'customer': that customer's feed only. ``repository.bump_version``
    and ``bump_version_for`` write it in the same transaction as the data version (``feeds.index``).
    """

    __tablename__ = "feed_versions"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    ref: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, index=True)
    changed_at: Mapped[datetime]
