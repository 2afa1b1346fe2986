"""Customer edits behind ``maintcal customer``: customers, their contacts and subscriptions.

Each function is one transaction: it takes the database and ``now`` and returns plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from notifications.addresses import address_key, normalize_address
from scheduler.catalogue.products import check_name
from scheduler.catalogue.withdrawals import announced, withdraw_vanished
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer, Subscription
from scheduler.store.models_portal import PortalSession
from scheduler.store.repository import bump_version_for, get_customer, get_product
from windows.errors import Conflict, InvalidInput
from windows.parsing import check_slug
from windows.schedule import Scheduled
from windows.timezones import resolve_zone


@dataclass(frozen=True)
class CustomerInfo:
    key: str
    name: str
    timezone: str
    contacts: list[str]
    subscriptions: list[str]


def _unique_addresses(addresses: list[str]) -> list[str]:
    """Normalized addresses, the first of those that differ only in case."""
    unique: dict[str, str] = {}
    for address in addresses:
        normalized = normalize_address(address)
        unique.setdefault(address_key(normalized), normalized)
    return list(unique.values())


def add_customer(db: Database, now: datetime, key: str, name: str, tz: str, contacts: list[str]) -> list[str]:
    """Add a customer; returns warnings (abbreviation zone)."""
    check_slug(key, "customer key")
    name = check_name(name, "customer name")
    zone = resolve_zone(tz)
    emails = _unique_addresses(contacts)
    with db.transaction() as session:
        if session.scalar(select(Customer.id).where(Customer.key == key)) is not None:
            raise Conflict(f"customer '{key}' already exists")
        customer = Customer(key=key, name=name, timezone=zone.name, created_at=now, updated_at=now)
        session.add(customer)
        session.flush()
        for email in emails:
            session.add(Contact(customer_id=customer.id, email=email, nominated_at=now))
        bump_version_for(session, now, [(None, customer.id)])
    return [zone.warning] if zone.warning else []


def add_contact(db: Database, now: datetime, key: str, email: str) -> str:
    """Nominate ``email`` as a contact from ``now`` on; returns the address as stored (normalized,
    see ``notifications.addresses``)."""
    email = normalize_address(email)
    with db.transaction() as session:
        customer = get_customer(session, key)
        same = [c.email for c in customer.contacts if address_key(c.email) == address_key(email) and not c.removed_at]
        if same:
            raise Conflict(f"{same[0]} is already a contact of '{key}'")
        session.add(Contact(customer_id=customer.id, email=email, nominated_at=now))
        bump_version_for(session, now, [(None, customer.id)], feeds=False)  # the planning run: yes; feeds: no
    return email


def remove_contact(db: Database, now: datetime, key: str, email: str) -> str:
    """Remove ``email`` (case does not count) from the contacts from ``now`` on; its history is kept.
    Returns the address as it was stored."""
    email = normalize_address(email)
    with db.transaction() as session:
        customer = get_customer(session, key)
        active = [c for c in customer.contacts if address_key(c.email) == address_key(email) and not c.removed_at]
        if not active:
            raise InvalidInput(f"{email} is not a contact of '{key}'")
        for contact in active:
            contact.removed_at = now
        # Their portal sessions end now (a session of a removed contact is refused anyway).
        session.execute(
            update(PortalSession)
            .where(PortalSession.contact_id.in_([c.id for c in active]), PortalSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        return active[0].email


def subscribe(db: Database, now: datetime, key: str, products: list[str], subscribed: bool = True) -> list[str]:
    """Subscribe (or unsubscribe, as ``unsubscribe`` does) a customer; returns the products whose
    state changed."""
    if not subscribed:
        return unsubscribe(db, now, key, products).products
    changed = []
    with db.transaction() as session:
        customer = get_customer(session, key)
        for product_key in products:
            product = get_product(session, product_key)
            if _subscription(session, customer.id, product.id) is None:
                session.add(Subscription(customer_id=customer.id, product_id=product.id, created_at=now))
                changed.append(product_key)
        if changed:
            bump_version_for(session, now, [(None, customer.id)])
    return changed


@dataclass(frozen=True)
class Unsubscribed:
    products: list[str]  # the products the customer subscribed to until now
    cancelled: list[Scheduled]  # their occurrences it was told about, withdrawn (as ``withdraw_vanished``)


def unsubscribe(
    db: Database, now: datetime, key: str, products: list[str], settings: Settings | None = None
) -> Unsubscribed:
    """Unsubscribe a customer from ``products``. The occurrences of those products it was told about
    and that have not ended get a cancellation (METHOD:CANCEL, as a retired window's do): they would
    otherwise stay in its calendar. Notices about them not sent yet are superseded."""
    changed = []
    with db.transaction() as session:
        customer = get_customer(session, key)
        before = announced(session, now, (), [customer.id])
        for product_key in products:
            product = get_product(session, product_key)
            existing = _subscription(session, customer.id, product.id)
            if existing is not None:
                session.delete(existing)
                changed.append(product_key)
        cancelled: list[Scheduled] = []
        if changed:
            bump_version_for(session, now, [(None, customer.id)])
            note = f"{customer.key} unsubscribed from {', '.join(changed)}"
            cancelled = withdraw_vanished(session, now, settings or Settings(), before, note)
    return Unsubscribed(changed, cancelled)


def _subscription(session: Session, customer_id: int, product_id: int) -> Subscription | None:
    return session.scalar(
        select(Subscription).where(Subscription.customer_id == customer_id, Subscription.product_id == product_id)
    )


def list_customers(db: Database) -> list[CustomerInfo]:
    with db.transaction() as session:
        return [customer_info(c) for c in session.scalars(select(Customer).order_by(Customer.key))]


def customer_info(c: Customer) -> CustomerInfo:
    return CustomerInfo(
        c.key,
        c.name,
        c.timezone,
        [contact.email for contact in c.contacts if contact.removed_at is None],
        sorted(s.product.key for s in c.subscriptions),
    )
