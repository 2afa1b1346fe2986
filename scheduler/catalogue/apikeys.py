"""Customer API keys for /api/v1: random, shown once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduler.store.db import Database
from scheduler.store.models import ApiKey, Customer
from scheduler.store.repository import get_customer
from windows.errors import Conflict

PREFIX = "mcak_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_api_key(db: Database, now: datetime, customer: str, rotate: bool = False) -> str:
    """Create the customer's API key (``rotate`` revokes the current one). Returns the key: shown once."""
    with db.transaction() as session:
        cust = get_customer(session, customer)
        active = session.scalar(select(ApiKey.id).where(ApiKey.customer_id == cust.id, ApiKey.revoked_at.is_(None)))
        if active is not None and not rotate:
            raise Conflict(
                f"customer '{customer}' already has an API key (it is shown only once): use --rotate for a new one"
            )
        session.execute(
            update(ApiKey).where(ApiKey.customer_id == cust.id, ApiKey.revoked_at.is_(None)).values(revoked_at=now)
        )
        key = PREFIX + secrets.token_urlsafe(32)
        session.add(ApiKey(customer_id=cust.id, key_hash=_hash(key), created_at=now))
        return key


def revoke_api_key(db: Database, now: datetime, customer: str) -> bool:
    """Revoke the customer's API key without issuing a new one; False when none was active.

    From now on the old key gets the same 401 as an unknown one; ``issue_api_key`` issues a new one.
    """
    with db.transaction() as session:
        cust = get_customer(session, customer)
        revoked = session.scalars(
            update(ApiKey)
            .where(ApiKey.customer_id == cust.id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(ApiKey.id)
        ).all()
        return bool(revoked)


def customer_for_key(session: Session, key: str) -> Customer | None:
    """The customer owning an active key, or None (unknown, malformed and revoked alike)."""
    if not key.startswith(PREFIX) or len(key) > 200:
        return None
    return session.scalar(
        select(Customer).join(ApiKey).where(ApiKey.key_hash == _hash(key), ApiKey.revoked_at.is_(None))
    )
