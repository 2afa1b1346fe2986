"""Feed tokens and feed URLs.

Secret feed tokens have 256 bits of entropy and are stored only as SHA-256 hashes; a customer has
at most one active token, and issuing a new one revokes the old. Every issue or revocation raises
the tokens version (row ``preload.TOKENS_ROW`` of ``data_version``) in the same transaction, which
every server process polls to forget the tokens it knows (``index.FeedIndex``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scheduler.feeds.preload import TOKENS_ROW
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, DataVersion, FeedToken
from scheduler.store.repository import get_customer
from windows.errors import Conflict, InvalidInput
from windows.timezones import format_utc


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_feed_token(db: Database, now: datetime, customer_key: str, *, rotate: bool = False) -> str:
    """A new secret feed token for the customer; any older token stops working.

    Without ``rotate``, a customer that already has an active token is refused: the token is
    stored only as a hash, so it cannot be shown again.
    """
    with db.transaction() as session:
        customer = get_customer(session, customer_key)
        session.scalar(select(Customer.id).where(Customer.id == customer.id).with_for_update())
        active = session.scalars(
            select(FeedToken).where(FeedToken.customer_id == customer.id, FeedToken.revoked_at.is_(None))
        ).first()
        if active is not None and not rotate:
            raise Conflict(
                f"customer '{customer_key}' already has a feed URL (issued {format_utc(active.created_at)}); "
                "it is stored only as a hash and cannot be shown again: use --rotate to issue a new one "
                "(the old URL stops working)"
            )
        session.execute(
            update(FeedToken)
            .where(FeedToken.customer_id == customer.id, FeedToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        token = secrets.token_urlsafe(32)
        session.add(FeedToken(customer_id=customer.id, token_hash=hash_token(token), created_at=now))
        bump_tokens_version(session, now)
    return token


def revoke_feed_token(db: Database, now: datetime, customer_key: str) -> bool:
    """Revoke the customer's feed token without issuing a new one; False when none was active.

    From now on the old URL gets the same 404 as an unknown one; ``issue_feed_token`` (``feed-url``,
    with or without ``--rotate``) issues a new one later.
    """
    with db.transaction() as session:
        customer = get_customer(session, customer_key)
        session.scalar(select(Customer.id).where(Customer.id == customer.id).with_for_update())
        revoked = session.scalars(
            update(FeedToken)
            .where(FeedToken.customer_id == customer.id, FeedToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(FeedToken.id)
        ).all()
        if revoked:
            bump_tokens_version(session, now)
        return bool(revoked)


def bump_tokens_version(session: Session, now: datetime) -> None:
    """Raise the feed tokens version (its row is created by the first change: no migration needed)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(DataVersion)
        .values(id=TOKENS_ROW, version=0, changed_at=now)
        .on_conflict_do_nothing(index_elements=[DataVersion.id])
    )
    session.execute(
        update(DataVersion).where(DataVersion.id == TOKENS_ROW).values(version=DataVersion.version + 1, changed_at=now)
    )


def check_base_url(settings: Settings) -> str:
    """The configured base URL, refused unless it is an absolute http(s) URL."""
    base = settings.base_url.rstrip("/")
    scheme, _, rest = base.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith("/") or any(c in base for c in " \t\r\n"):
        raise InvalidInput(
            f"MAINTCAL_BASE_URL={settings.base_url!r} must be an absolute URL like https://cal.example.com"
        )
    return base


def feed_urls(settings: Settings, token: str) -> tuple[str, str]:
    """The feed URL under the configured base URL, and the same as a webcal:// URL.

    >>> feed_urls(Settings(base_url="https://cal.example.com/maint"), "T0KEN")
    ('https://cal.example.com/maint/feeds/T0KEN.ics', 'webcal://cal.example.com/maint/feeds/T0KEN.ics')
    """
    base = check_base_url(settings)
    _, _, rest = base.partition("://")
    return f"{base}/feeds/{token}.ics", f"webcal://{rest}/feeds/{token}.ics"
