"""Endpoints: a customer's contacts that are not email addresses (webhook, Slack, Teams; issue 15).

An endpoint is never deleted while deliveries refer to it: removal sets ``removed_at``. The
webhook secret (``whsec_<base64>``) is kept to sign each request; it is shown once when the
endpoint is added or its secret rotated. ``events`` is a JSON list of event names, NULL for all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.store.base import Base

WEBHOOK, SLACK, TEAMS = "webhook", "slack", "teams"
ENDPOINT_KINDS = (WEBHOOK, SLACK, TEAMS)


class Endpoint(Base):
    """One webhook, Slack or Teams target of a customer."""

    __tablename__ = "endpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
