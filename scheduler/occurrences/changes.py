"""Ops' changes to one occurrence: cancel or move, product-wide or for one customer (DESIGN §2, §3).

Each change raises the occurrence's sequence, changes the feeds, and queues an update notice
(a CANCEL for a cancellation) to every affected contact in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.blackouts.guard import refuse_blackout, refuse_frozen
from scheduler.notices.change_notices import enqueue_change_notices
from scheduler.occurrences.decisions import next_decision, serialised
from scheduler.occurrences.schedule import affected_customers, find_occurrence, occurrences
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, Override, Product
from scheduler.store.repository import bump_version_for, get_customer, get_product
from windows.errors import Conflict, InvalidInput, NotFound, PolicyRefused
from windows.schedule import Scheduled
from windows.text import clean_text, optional_text
from windows.timezones import format_utc


@dataclass(frozen=True)
class ChangeResult:
    occurrence: str
    action: str
    customers: list[str]
    deliveries: int
    items: list[Scheduled]  # the occurrence as each affected customer now sees it
    base_id: str  # the occurrence id without a customer suffix
    product_wide: bool  # the decision names every customer of the product


@dataclass(frozen=True)
class Target:
    """Which occurrence a command names: base id, product and optional customer scope."""

    base_id: str
    product: Product
    customer: Customer | None
    local: bool


def resolve_target(session: Session, occurrence_id: str, customer_key: str | None) -> Target:
    parts = occurrence_id.split(".")
    if len(parts) >= 2 and parts[1].startswith("unplanned-"):
        raise InvalidInput(f"'{occurrence_id}' is unplanned maintenance: use 'maintcal unplanned extend|end'")
    if len(parts) not in (3, 4):
        raise InvalidInput(
            f"invalid occurrence id '{occurrence_id}': expected <product>.<rule>.<YYYYMMDD>[.<customer>]"
        )
    product = get_product(session, parts[0])
    if len(parts) == 4:
        if customer_key and customer_key != parts[3]:
            raise InvalidInput(f"occurrence '{occurrence_id}' belongs to customer '{parts[3]}', not '{customer_key}'")
        customer_key = parts[3]
    customer = get_customer(session, customer_key) if customer_key else None
    rule_name = parts[1]
    rule = next((r for r in product.rules if r.name == rule_name), None)
    if rule is None:
        raise NotFound(f"product '{product.key}' has no window '{rule_name}'")
    return Target(".".join(parts[:3]), product, customer, rule.timezone == "local")


def _views(session: Session, target: Target) -> list[tuple[str, Customer]]:
    """(occurrence id, customer) for every customer view the change affects."""
    customers = [target.customer] if target.customer else affected_customers(session, target.product)
    return [(f"{target.base_id}.{c.key}" if target.local else target.base_id, c) for c in customers]


def _current(session: Session, target: Target) -> Scheduled:
    if target.local and target.customer is None:
        views = _views(session, target)
        found = [find_occurrence(session, occ_id, c.key) for occ_id, c in views]
        current = next((s for s in found if s is not None), None)
    else:
        occ_id = f"{target.base_id}.{target.customer.key}" if target.local and target.customer else target.base_id
        current = find_occurrence(session, occ_id, target.customer.key if target.customer else None)
    if current is None:
        raise NotFound(f"no occurrence '{target.base_id}' (check the id with 'maintcal occurrences')")
    return current


def change_occurrence(
    db: Database,
    now: datetime,
    settings: Settings,
    occurrence_id: str,
    *,
    action: str,
    reason: str,
    customer: str | None = None,
    new_start: datetime | None = None,
    new_end: datetime | None = None,
    waive_notice: str | None = None,
    customer_consent: bool = False,
) -> ChangeResult:
    """Cancel or move one occurrence; one transaction including the notices it causes.

    Decisions on one occurrence are numbered in commit order (``scheduler.occurrences.decisions``): this one
    comes after every decision committed before it, whatever the clocks say, and is run again on
    the new state if a concurrent decision on the same occurrence commits first.

    A move keeps the window's length unless ``new_end`` is given. A move that starts before
    ``now + notice_days`` is refused unless ``waive_notice`` (or ``customer_consent``) is given.
    """
    reason = clean_text("--reason", reason, max_length=2000)
    waive_notice = optional_text("--waive-notice", waive_notice)

    def decide(session: Session) -> ChangeResult:
        target = resolve_target(session, occurrence_id, customer)
        decision = next_decision(session, target.product.id, target.base_id)  # before reading the state
        current = _current(session, target)
        if current.status == "cancelled":
            raise Conflict(f"occurrence '{occurrence_id}' is already cancelled")
        if current.end <= now:
            raise Conflict(f"occurrence '{occurrence_id}' already ended at {format_utc(current.end)}")
        start, end = new_start, new_end
        if action == "move":
            start, end = _check_move(target, current, now, new_start, new_end, waive_notice, customer_consent)
            _refuse_overlap(session, target, current, start, end)
            refuse_frozen(session, target.product, start, end, "the new time")
            if target.local and target.customer is not None:
                refuse_blackout(session, target.customer, start, end, "the new time")
        session.add(
            Override(
                product_id=target.product.id,
                occurrence_id=target.base_id,
                customer_id=target.customer.id if target.customer else None,
                action=action,
                new_start=start,
                new_end=end,
                reason=reason,
                waived_reason=waive_notice,
                customer_consent=customer_consent,
                decision=decision,
                created_at=now,
            )
        )
        session.flush()
        bump_version_for(session, now, [(target.product.id, target.customer.id if target.customer else None)])
        items = []
        for occ_id, cust in _views(session, target):
            found = find_occurrence(session, occ_id, cust.key)
            if found is not None:
                items.append(found)
        kind = "cancel" if action == "cancel" else "update"
        deliveries = enqueue_change_notices(session, now, settings, items, kind, reason) if items else 0
        customers = [c.key for _, c in _views(session, target)]
        return ChangeResult(
            occurrence_id, action, customers, deliveries, items, target.base_id, target.customer is None
        )

    return serialised(db, decide)


def _refuse_overlap(session: Session, target: Target, current: Scheduled, start: datetime, end: datetime) -> None:
    """Occurrences of one rule never overlap: refuse a move onto another occurrence of the same rule.

    Every view the decision reaches is checked: the customer's own for a per-customer move or a
    ``local`` rule; for a product-wide move, the product-wide schedule and the view of every
    customer who has an occurrence of this product moved or cancelled for them alone (the new time
    may land on such a customer's moved occurrence).
    """
    product_wide = target.customer is None and current.customer is None
    if not product_wide:
        views = [target.customer.key if target.customer else current.customer]
    else:
        views = [None, *_customers_with_own_changes(session, target.product)]
    for customer in views:
        others = occurrences(
            session, start - timedelta(days=8), end + timedelta(days=1), product=target.product.key, customer=customer
        )
        for other in others:
            same_rule = other.occurrence.rule == current.occurrence.rule and other.kind == "planned"
            if same_rule and other.occurrence.base_id != target.base_id and other.start < end and other.end > start:
                whose = f" for customer '{customer}'" if product_wide and customer else ""
                raise PolicyRefused(
                    f"the new time overlaps occurrence '{other.id}' ({format_utc(other.start)} - "
                    f"{format_utc(other.end)}){whose} of the same window: move or cancel that one first"
                )


def _customers_with_own_changes(session: Session, product: Product) -> list[str]:
    """Keys of the customers with at least one change of this product's occurrences for them alone."""
    rows = session.execute(
        select(Customer.key)
        .join(Override, Override.customer_id == Customer.id)
        .where(Override.product_id == product.id)
        .distinct()
        .order_by(Customer.key)
    )
    return list(rows.scalars())


def _check_move(
    target: Target,
    current: Scheduled,
    now: datetime,
    new_start: datetime | None,
    new_end: datetime | None,
    waive_notice: str | None,
    customer_consent: bool,
) -> tuple[datetime, datetime]:
    if new_start is None:
        raise InvalidInput("a move needs --to INSTANT")
    end = new_end or new_start + (current.end - current.start)
    if end <= new_start:
        raise InvalidInput(f"--end {format_utc(end)} is not after --to {format_utc(new_start)}")
    if end - new_start > timedelta(days=7):
        raise InvalidInput("a window may last at most 7 days")
    if new_start < now:
        raise InvalidInput(f"--to {format_utc(new_start)} is in the past")
    earliest = now + timedelta(days=target.product.notice_days)
    if new_start < earliest and not (waive_notice or customer_consent):
        raise PolicyRefused(
            f"the new start {format_utc(new_start)} is less than {target.product.notice_days} days away "
            f"(earliest with full notice: {format_utc(earliest)}); give --waive-notice REASON to move it anyway"
        )
    return new_start, end
