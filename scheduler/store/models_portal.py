"""Models of the customer portal: sign-in links, sessions, its own settings, who asked for a move.

Secrets are stored only as SHA-256 hashes (links and sessions); a sign-in link is good for one use
within its expiry. A session belongs to one contact and ends when the contact is removed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.store.base import Base


class PortalLink(Base):
    """A one-time sign-in link sent to a contact (the token itself only ever in the email)."""

    __tablename__ = "portal_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PortalSession(Base):
    """A signed-in contact; the cookie holds the token, the database its hash."""

    __tablename__ = "portal_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class PortalSetting(Base):
    """Values the portal keeps for itself, e.g. the session secret generated on first use."""

    __tablename__ = "portal_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RequestedBy(Base):
    """The contact who asked for a reschedule request through the portal."""

    __tablename__ = "reschedule_requesters"
    request_id: Mapped[int] = mapped_column(ForeignKey("reschedule_requests.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
