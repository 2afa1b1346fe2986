"""Use cases on the catalogue: products, window rules, customers, contacts, subscriptions.

Each function is one transaction: it takes the database and ``now`` and returns plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notifications.addresses import address_key, normalize_address
from scheduler.catalogue.past_windows import refuse_past_once
from scheduler.catalogue.withdrawals import announced, withdraw_vanished
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer, Product, Subscription, WindowRule
from scheduler.store.repository import bump_version, get_customer, get_product, get_rule, rule_fields, rule_to_domain
from windows.errors import Conflict, InvalidInput, PolicyRefused
from windows.expansion import expand
from windows.parsing import check_slug
from windows.rules import Rule, rules_overlap_warning
from windows.schedule import Scheduled
from windows.text import clean_text, optional_text
from windows.timezones import format_utc, resolve_zone


@dataclass(frozen=True)
class ProductInfo:
    key: str
    name: str
    notice_days: int
    public: bool
    windows: int


@dataclass(frozen=True)
class RuleInfo:
    product: str
    name: str
    kind: str
    description: str
    timezone: str
    valid_from: date | None
    valid_until: date | None
    label: str | None
    effective_from: datetime  # when the rule in its current shape took effect (occurrences begin here)

    @property
    def retired_before_start(self) -> bool:
        return self.valid_from is not None and self.valid_until is not None and self.valid_until < self.valid_from


@dataclass(frozen=True)
class Retired:
    """What ``retire_window`` did: no occurrences on or after ``cutoff`` (local start dates)."""

    cutoff: date
    first_day: date | None  # set when the window was retired before its first day: no occurrences at all
    cancelled: list[Scheduled]  # announced occurrences withdrawn (cancellation queued or unsent notice dropped)

    def describe(self, product: str, rule: str) -> str:
        if self.first_day is not None:
            return f"retired {product}.{rule} before its first day {self.first_day}: no occurrences"
        return f"retired {product}.{rule}: no occurrences from {self.cutoff}"


@dataclass(frozen=True)
class CustomerInfo:
    key: str
    name: str
    timezone: str
    contacts: list[str]
    subscriptions: list[str]


def check_name(name: str, what: str = "name") -> str:
    """A display name: one line of plain text, 1 to 200 characters (``windows.text``)."""
    return clean_text(what, name)


def _unique_addresses(addresses: list[str]) -> list[str]:
    """Normalized addresses, the first of those that differ only in case."""
    unique: dict[str, str] = {}
    for address in addresses:
        normalized = normalize_address(address)
        unique.setdefault(address_key(normalized), normalized)
    return list(unique.values())


# -- products ---------------------------------------------------------------------------------


def add_product(
    db: Database, now: datetime, key: str, name: str, notice_days: int = 30, public: bool = False
) -> ProductInfo:
    check_slug(key, "product key")
    name = check_name(name, "product name")
    if not 0 <= notice_days <= 365:
        raise InvalidInput(f"--notice-days {notice_days}: use 0 to 365")
    with db.transaction() as session:
        if session.scalar(select(Product.id).where(Product.key == key)) is not None:
            raise Conflict(f"product '{key}' already exists")
        session.add(Product(key=key, name=name, notice_days=notice_days, public=public, created_at=now, updated_at=now))
        bump_version(session, now)
    return ProductInfo(key, name, notice_days, public, 0)


def list_products(db: Database) -> list[ProductInfo]:
    with db.transaction() as session:
        return [
            ProductInfo(p.key, p.name, p.notice_days, p.public, len(p.rules))
            for p in session.scalars(select(Product).order_by(Product.key))
        ]


# -- window rules -----------------------------------------------------------------------------


def add_window(db: Database, now: datetime, rule: Rule, waive_notice: str | None = None) -> list[str]:
    """Add a rule; returns warnings (overlapping rules). Refuses occurrences inside the notice period."""
    waive_notice = optional_text("--waive-notice", waive_notice)
    with db.transaction() as session:
        product = get_product(session, rule.product)
        if session.scalar(
            select(WindowRule.id).where(WindowRule.product_id == product.id, WindowRule.name == rule.name)
        ):
            raise Conflict(f"product '{product.key}' already has a window '{rule.name}' (choose another --name)")
        refuse_past_once(session, product, rule, now, None)
        if not waive_notice:
            _refuse_inside_notice(session, product, rule, now)
        existing = [rule_to_domain(r, product.key) for r in product.rules]
        row = WindowRule(
            product_id=product.id,
            waive_notice=waive_notice,
            effective_from=now,
            created_at=now,
            updated_at=now,
            **rule_fields(rule),
        )
        session.add(row)
        bump_version(session, now)
        return rules_overlap_warning([*existing, rule])


def next_rule_name(db: Database, product_key: str) -> str:
    with db.transaction() as session:
        product = get_product(session, product_key)
        taken = {r.name for r in product.rules}
    n = 1
    while f"w{n}" in taken:
        n += 1
    return f"w{n}"


CLI_NOTICE_HINT = "start it later with --from, or give --waive-notice REASON"


def _refuse_inside_notice(
    session: Session,
    product: Product,
    rule: Rule,
    now: datetime,
    previous: Rule | None = None,
    hint: str = CLI_NOTICE_HINT,
) -> None:
    """Refuse a rule that creates or moves an occurrence starting before now + notice_days.

    ``previous`` is the rule being replaced: its occurrences (same start and end) are not new.
    """
    limit = now + timedelta(days=product.notice_days)
    zones = [c.timezone for c in _subscriber_rows(session, product)] if rule.is_local else [None]
    for zone in zones:
        customer = "customer" if zone else None
        known: set[tuple[datetime, datetime]] = set()
        if previous is not None and (zone is not None or not previous.is_local):
            known = {(o.start, o.end) for o in expand(previous, now, limit, local_tz=zone, customer=customer)}
        early = expand(rule, now, limit, local_tz=zone, customer=customer)
        upcoming = [o for o in early if o.start >= now and (o.start, o.end) not in known]
        if upcoming:
            first = upcoming[0]
            raise PolicyRefused(
                f"window '{rule.product}.{rule.name}' would start at {format_utc(first.start)}, less than "
                f"{product.notice_days} days from now: {hint}"
            )


def _subscriber_rows(session: Session, product: Product) -> list[Customer]:
    return list(session.scalars(select(Customer).join(Subscription).where(Subscription.product_id == product.id)))


def list_windows(db: Database, product_key: str | None = None) -> list[RuleInfo]:
    with db.transaction() as session:
        query = select(WindowRule, Product.key).join(Product).order_by(Product.key, WindowRule.id)
        if product_key:
            query = query.where(Product.id == get_product(session, product_key).id)
        result = []
        for row, key in session.execute(query).all():
            rule = rule_to_domain(row, key)
            result.append(
                RuleInfo(
                    key,
                    row.name,
                    row.kind,
                    rule.describe(),
                    row.timezone,
                    row.valid_from,
                    row.valid_until,
                    row.label,
                    row.effective_from,
                )
            )
        return result


def retire_window(
    db: Database,
    now: datetime,
    product_key: str,
    name: str,
    from_date: date | None,
    settings: Settings | None = None,
) -> Retired:
    """No occurrences of the rule start on or after ``from_date`` (default: today, UTC).

    A window that has not started yet can be retired too: it then has no occurrences at all.
    ``from_date`` may not lie before today (what happened stays on record), and an earlier end is
    never extended. Announced occurrences that disappear are cancelled (a CANCEL notice, as
    ``occurrence cancel`` sends) in the same transaction.
    """
    today = now.astimezone(UTC).date()
    cutoff = from_date or today
    if cutoff < today:
        raise InvalidInput(f"--from {cutoff} is in the past: occurrences before today ({today}) stay on record")
    with db.transaction() as session:
        product = get_product(session, product_key)
        row = get_rule(session, product, name)
        before = announced(session, now, [product.key])
        cancelled: list[Scheduled] = []
        if retire_row(row, cutoff, now):
            bump_version(session, now)
            cancelled = withdraw_vanished(
                session, now, settings or Settings(), before, f"window {product.key}.{name} retired from {cutoff}"
            )
        return Retired(cutoff, row.valid_from if row.valid_from and cutoff <= row.valid_from else None, cancelled)


def retire_row(row: WindowRule, cutoff: date, now: datetime) -> bool:
    """Set the row's ``valid_until`` to the day before ``cutoff``, never later than it was; True if changed.

    Retired before its first day, the row keeps ``valid_until`` < ``valid_from``: stored as is, it
    means "no occurrences" (``windows.rules``), and is never an error when read back.
    """
    last = cutoff - timedelta(days=1)
    if row.valid_until is not None and (
        row.valid_until <= last or (row.valid_from is not None and row.valid_until < row.valid_from)
    ):
        return False
    row.valid_until = last
    row.updated_at = now
    return True


# -- customers --------------------------------------------------------------------------------


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
        bump_version(session, now)
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
        return active[0].email


def subscribe(db: Database, now: datetime, key: str, products: list[str], subscribed: bool = True) -> list[str]:
    """Subscribe (or unsubscribe) a customer; returns the products whose state changed."""
    changed = []
    with db.transaction() as session:
        customer = get_customer(session, key)
        for product_key in products:
            product = get_product(session, product_key)
            existing = session.scalar(
                select(Subscription).where(
                    Subscription.customer_id == customer.id, Subscription.product_id == product.id
                )
            )
            if subscribed and existing is None:
                session.add(Subscription(customer_id=customer.id, product_id=product.id, created_at=now))
                changed.append(product_key)
            elif not subscribed and existing is not None:
                session.delete(existing)
                changed.append(product_key)
        if changed:
            bump_version(session, now)
    return changed


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


def integrity_message(error: IntegrityError) -> str:
    return str(error.orig).splitlines()[0] if error.orig else str(error)
