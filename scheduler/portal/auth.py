"""Portal sign-in and sessions: one-time links, signed session cookies, CSRF tokens.

- A sign-in link carries 256 random bits; only its SHA-256 hash is stored. It is good once, for
  ``LINK_MINUTES``, and only while its contact is nominated.
- Redeeming it opens a session: the cookie holds a fresh random token signed with the portal's
  secret (HMAC-SHA256); the database holds the token's hash. A session ends at sign-out, after
  ``portal_idle_minutes`` unused, or when its contact is removed (checked on every request).
- The CSRF token of a form is an HMAC of the session token: nothing more to store.

The secret is ``MAINTCAL_PORTAL_SESSION_SECRET``, or one generated on first use and kept in the
database (``portal_settings``), so every process of one deployment shares it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from notifications.addresses import address_key, normalize_address
from scheduler.feeds.tokens import check_base_url, hash_token
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer
from scheduler.store.models_portal import PortalLink, PortalSession, PortalSetting
from scheduler.store.repository import get_customer
from windows.errors import InvalidInput

LINK_MINUTES = 15
COOKIE = "maintcal_portal"
SECRET_KEY = "session_secret"
_TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class Viewer:
    """The signed-in contact of a request."""

    session_id: int
    contact_id: int
    email: str
    customer: str
    customer_name: str
    timezone: str
    token: str  # the session token (for the CSRF token of its forms)


def session_secret(db: Database, settings: Settings) -> bytes:
    """The configured secret, or the one stored in the database (generated on first use)."""
    if settings.portal_session_secret:
        return settings.portal_session_secret.encode()
    with db.transaction() as session:
        found = session.get(PortalSetting, SECRET_KEY)
        if found is not None:
            return found.value.encode()
    try:
        with db.transaction() as session:
            session.add(PortalSetting(key=SECRET_KEY, value=secrets.token_urlsafe(48)))
    except IntegrityError:  # another process stored one first: use it
        pass
    with db.transaction() as session:
        stored = session.get(PortalSetting, SECRET_KEY)
        assert stored is not None
        return stored.value.encode()


def sign_in_url(settings: Settings, token: str) -> str:
    return f"{check_base_url(settings)}/portal/auth/{token}"


def new_link(db: Database, now: datetime, contact_id: int) -> str:
    """A one-time sign-in token for a contact (stored hashed); returns the token."""
    token = secrets.token_urlsafe(32)
    with db.transaction() as session:
        session.add(
            PortalLink(
                contact_id=contact_id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + timedelta(minutes=LINK_MINUTES),
            )
        )
    return token


def current_contact(db: Database, now: datetime, customer_key: str, email: str) -> int:
    """The id of ``email`` as a current contact of the customer; InvalidInput if it is not one."""
    wanted = address_key(normalize_address(email))
    with db.transaction() as session:
        customer = get_customer(session, customer_key)
        for contact in customer.contacts:
            if address_key(contact.email) == wanted and contact.active_at(now):
                return contact.id
    raise InvalidInput(f"{email} is not a current contact of '{customer_key}'")


def portal_link(db: Database, now: datetime, settings: Settings, customer_key: str, email: str) -> str:
    """A sign-in URL for a current contact (``maintcal customer portal-link``)."""
    check_base_url(settings)
    return sign_in_url(settings, new_link(db, now, current_contact(db, now, customer_key, email)))


def redeem(db: Database, now: datetime, token: str) -> str | None:
    """Use a sign-in token: a new session token, or None (wrong, used, expired, contact removed).

    The link is marked used by a conditional UPDATE, so of two concurrent uses exactly one wins.
    """
    if not 20 <= len(token) <= 100:
        return None
    with db.transaction() as session:
        found = session.execute(
            select(PortalLink, Contact)
            .join(Contact, Contact.id == PortalLink.contact_id)
            .where(PortalLink.token_hash == hash_token(token))
        ).first()
        if found is None:
            return None
        link, contact = found
        if link.used_at is not None or link.expires_at <= now or not contact.active_at(now):
            return None
        taken = session.execute(
            update(PortalLink)
            .where(PortalLink.id == link.id, PortalLink.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            return None
        session_token = secrets.token_urlsafe(32)
        session.add(
            PortalSession(contact_id=contact.id, token_hash=hash_token(session_token), created_at=now, last_seen_at=now)
        )
        return session_token


def find_session(db: Database, now: datetime, settings: Settings, token: str) -> Viewer | None:
    """The viewer of a live session: not ended, used within the idle time, its contact current."""
    idle = timedelta(minutes=settings.portal_idle_minutes)
    with db.transaction() as session:
        found = session.execute(
            select(PortalSession, Contact, Customer)
            .join(Contact, Contact.id == PortalSession.contact_id)
            .join(Customer, Customer.id == Contact.customer_id)
            .where(PortalSession.token_hash == hash_token(token))
        ).first()
        if found is None:
            return None
        row, contact, customer = found
        if row.ended_at is not None:
            return None
        if row.last_seen_at + idle <= now or not contact.active_at(now):
            row.ended_at = now
            return None
        if now - row.last_seen_at >= _TOUCH_EVERY:
            row.last_seen_at = now
        return Viewer(row.id, contact.id, contact.email, customer.key, customer.name, customer.timezone, token)


def end_session(db: Database, now: datetime, session_id: int) -> None:
    with db.transaction() as session:
        session.execute(
            update(PortalSession)
            .where(PortalSession.id == session_id, PortalSession.ended_at.is_(None))
            .values(ended_at=now)
        )


# -- cookie and CSRF ------------------------------------------------------------------------------


def _mac(secret: bytes, purpose: bytes, value: str) -> str:
    digest = hmac.new(secret, purpose + b"|" + value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def cookie_value(secret: bytes, session_token: str) -> str:
    return f"{session_token}.{_mac(secret, b'cookie', session_token)}"


def cookie_token(secret: bytes, value: str | None) -> str | None:
    """The session token of a cookie whose signature is right; None otherwise."""
    if not value or len(value) > 200:
        return None
    token, _, signature = value.rpartition(".")
    if not token or not hmac.compare_digest(signature, _mac(secret, b"cookie", token)):
        return None
    return token


def csrf_token(secret: bytes, session_token: str) -> str:
    return _mac(secret, b"csrf", session_token)


def csrf_ok(secret: bytes, session_token: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent), csrf_token(secret, session_token))
