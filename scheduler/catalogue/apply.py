"""``maintcal apply``: a declarative catalogue, planned and applied idempotently.

Applying adds what is missing and changes what differs. Inside a listed product or customer,
windows, contacts and subscriptions that the file no longer lists are retired / removed. Products
and customers missing from the file are kept and reported, unless ``prune`` removes them.
The file itself is parsed and validated by ``scheduler.catalogue.catalogue_file``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from notifications.addresses import address_key
from scheduler.catalogue.blackouts_file import apply_blackouts, apply_freezes
from scheduler.catalogue.catalogue_file import Catalogue, CustomerSpec, ProductSpec
from scheduler.catalogue.past_windows import refuse_past_once
from scheduler.catalogue.window_rules import refuse_inside_notice, retire_row, retires
from scheduler.catalogue.withdrawals import announced, withdraw_vanished
from scheduler.gc_pause import gc_paused
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer, Product, Subscription, WindowRule
from scheduler.store.repository import bump_version, rule_fields, rule_to_domain
from windows.errors import ManyProblems, PolicyRefused


@dataclass(frozen=True)
class PlanItem:
    action: str  # add | change | remove | keep
    what: str
    detail: str = ""


# -- planning and applying --------------------------------------------------------------------


def apply_catalogue(
    db: Database,
    now: datetime,
    catalogue: Catalogue,
    *,
    dry_run: bool = False,
    prune: bool = False,
    settings: Settings | None = None,
) -> list[PlanItem]:
    """Plan the changes; apply them in one transaction unless ``dry_run``. Returns the plan.

    Announced occurrences that the changes take away (a window retired, its dates narrowed, its
    shape changed) are cancelled for the customers told, in the same transaction (``settings``
    gives the UID domain and sender of those notices; default settings when omitted).
    """
    with gc_paused(), db.transaction() as session:
        plan = _plan_and_apply(session, now, catalogue, prune, settings or Settings())
        if dry_run:
            session.rollback()
        elif any(item.action != "keep" for item in plan):
            bump_version(session, now)
    return plan


def _plan_and_apply(session: Session, now: datetime, cat: Catalogue, prune: bool, settings: Settings) -> list[PlanItem]:
    plan: list[PlanItem] = []
    products = {p.key: p for p in session.scalars(select(Product))}
    stored = _stored_windows(session, cat, products)
    before = announced(session, now, *_may_vanish(session, now, cat, products, stored))
    known = {p.key for p in cat.products} if prune else set(products) | {p.key for p in cat.products}
    problems = [
        f"customer '{c.key}' subscribes to unknown product '{s}'" + (" (--prune removes it)" if s in products else "")
        for c in cat.customers
        for s in c.subscriptions
        if s not in known
    ]
    if problems:
        raise ManyProblems(problems)
    for spec in cat.products:
        product = products.get(spec.key)
        values = {
            "name": spec.name,
            "notice_days": spec.notice_days,
            "public": spec.public,
            "reschedule_cutoff_hours": spec.reschedule_cutoff_hours,
            "reschedule_max_shift_days": spec.reschedule_max_shift_days,
            **spec.policy,
            "notice_channels": None if spec.notice_channels is None else json.dumps(list(spec.notice_channels)),
        }
        if product is None:
            product = Product(key=spec.key, created_at=now, updated_at=now, **values)
            session.add(product)
            session.flush()
            products[spec.key] = product
            plan.append(PlanItem("add", f"product {spec.key}", spec.name))
        else:
            changed = _update(product, values, now)
            if changed:
                plan.append(PlanItem("change", f"product {spec.key}", changed))
    customers = {c.key: c for c in session.scalars(select(Customer))}
    # Windows after customers exist, so that 'local' rules are checked against their subscribers.
    # Customers first (one flush gives the new ones their ids), then every customer's contacts and
    # subscriptions from two queries: no query or flush per customer (issue 11: a flush scans every
    # loaded row, so one per customer made a large file quadratic).
    per_customer = [_apply_customer(session, now, customer_spec, customers) for customer_spec in cat.customers]
    session.flush()
    # Read as (id, value) columns: an ORM object is loaded only for a row the file removes (a no-op
    # apply of 50,000 customers built 250,000 of them to compare).
    contacts: dict[int, list[tuple[int, str]]] = defaultdict(list)
    active = select(Contact.id, Contact.customer_id, Contact.email).where(Contact.removed_at.is_(None))
    for contact_id, customer_id, email in session.execute(active.order_by(Contact.id)):
        contacts[customer_id].append((contact_id, email))
    subscriptions: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = select(Subscription.id, Subscription.customer_id, Subscription.product_id).order_by(Subscription.id)
    for subscription_id, customer_id, product_id in session.execute(rows):
        subscriptions[customer_id].append((subscription_id, product_id))
    product_keys = {p.id: k for k, p in products.items()}
    with session.no_autoflush:
        for customer_spec, items in zip(cat.customers, per_customer, strict=True):
            customer = customers[customer_spec.key]
            items += _apply_contacts(session, now, customer_spec, customer, contacts[customer.id])
            mine = subscriptions[customer.id]
            items += _apply_subscriptions(session, now, customer_spec, customer, mine, products, product_keys)
            plan.extend(items)
    session.flush()
    refused: list[str] = []
    for spec in cat.products:
        plan.extend(_apply_windows(session, now, products[spec.key], spec, refused, stored))
    if len(refused) == 1:
        raise PolicyRefused(refused[0])
    if refused:
        raise ManyProblems(refused)
    for item in withdraw_vanished(session, now, settings, before, "removed from the schedule by a catalogue change"):
        plan.append(PlanItem("remove", f"occurrence {item.id}", f"announced to {item.customer}: cancellation queued"))
    plan.extend(_apply_blackouts(session, now, settings, cat, customers, products))
    listed_products = {p.key for p in cat.products}
    listed_customers = {c.key for c in cat.customers}
    for key, product in sorted(products.items()):
        if key not in listed_products:
            if prune:
                _delete_cascading(session, Product, product.id)
                plan.append(PlanItem("remove", f"product {key}", "not in the file (--prune)"))
            else:
                plan.append(PlanItem("keep", f"product {key}", "not in the file; --prune removes it"))
    for key, customer in sorted(customers.items()):
        if key not in listed_customers:
            if prune:
                _delete_cascading(session, Customer, customer.id)
                plan.append(PlanItem("remove", f"customer {key}", "not in the file (--prune)"))
            else:
                plan.append(PlanItem("keep", f"customer {key}", "not in the file; --prune removes it"))
    return plan


def _apply_blackouts(
    session: Session,
    now: datetime,
    settings: Settings,
    cat: Catalogue,
    customers: dict[str, Customer],
    products: dict[str, Product],
) -> list[PlanItem]:
    """Customers' blackouts and the freezes, where the file states them (``blackouts_file``)."""
    items = []
    for spec in cat.customers:
        if spec.blackouts is not None:
            items += apply_blackouts(session, now, settings, customers[spec.key], spec.blackouts)
    if cat.freezes is not None:
        items += apply_freezes(session, now, settings, cat.freezes, products)
    return [PlanItem(*item) for item in items]


def _delete_cascading(session: Session, model: type[Product] | type[Customer], row_id: int) -> None:
    # The database cascades to rules, contacts, subscriptions, overrides...; the ORM would instead try
    # to set their foreign keys to NULL.
    session.execute(delete(model).where(model.id == row_id), execution_options={"synchronize_session": False})


def _update(row: Any, values: dict[str, Any], now: datetime) -> str:
    changes = []
    for name, value in values.items():
        if getattr(row, name) != value:
            changes.append(f"{name}: {getattr(row, name)!r} -> {value!r}")
            setattr(row, name, value)
    if changes:
        row.updated_at = now
    return ", ".join(changes)


_FILE_NOTICE_HINT = "start it later with from = DATE, or set waive_notice = REASON"


@dataclass(frozen=True)
class _StoredWindows:
    """The stored windows of the products in the file, compared with the file once, before any change
    (``_may_vanish`` and ``_apply_windows`` both use the comparison; nothing changes a window between)."""

    rows: dict[int, dict[str, WindowRule]]  # product id -> name -> row
    differs: dict[tuple[int, str], dict[str, object]]  # (product id, name) -> the fields the file changes


def _stored_windows(session: Session, cat: Catalogue, products: dict[str, Product]) -> _StoredWindows:
    rows: dict[int, dict[str, WindowRule]] = defaultdict(dict)
    for stored_row in session.scalars(select(WindowRule)):
        rows[stored_row.product_id][stored_row.name] = stored_row
    differs: dict[tuple[int, str], dict[str, object]] = {}
    for spec in cat.products:
        product = products.get(spec.key)
        if product is None:
            continue
        for window in spec.windows:
            row = rows[product.id].get(window.rule.name)
            if row is not None:
                fields = rule_fields(window.rule)
                differs[(product.id, row.name)] = {k: v for k, v in fields.items() if getattr(row, k) != v}
    return _StoredWindows(dict(rows), differs)


def _apply_windows(
    session: Session, now: datetime, product: Product, spec: ProductSpec, refused: list[str], stored: _StoredWindows
) -> list[PlanItem]:
    plan = []
    rows = stored.rows.get(product.id, {})
    for window in spec.windows:
        rule = window.rule
        fields = rule_fields(rule)
        row = rows.get(rule.name)
        what = f"window {product.key}.{rule.name}"
        differs = {} if row is None else stored.differs[(product.id, rule.name)]
        if row is None or differs:
            previous = None if row is None else rule_to_domain(row, product.key)
            try:
                refuse_past_once(session, product, rule, now, previous)
                if not window.waive_notice:
                    refuse_inside_notice(session, product, rule, now, previous, _FILE_NOTICE_HINT)
            except PolicyRefused as error:
                refused.append(error.message)
                continue
        if row is None:
            session.add(
                WindowRule(
                    product_id=product.id,
                    waive_notice=window.waive_notice,
                    effective_from=now,
                    created_at=now,
                    updated_at=now,
                    **fields,
                )
            )
            plan.append(PlanItem("add", what, f"{rule.describe()} ({rule.timezone})"))
        elif differs:
            if _may_add_past(row, differs):
                row.effective_from = now
            changed = _update(row, fields, now)
            row.waive_notice = window.waive_notice or row.waive_notice  # a label change keeps the waiver
            plan.append(PlanItem("change", what, changed))
    listed = {w.rule.name for w in spec.windows}
    today = now.astimezone(UTC).date()
    for name, row in sorted(rows.items()):
        if name not in listed and retire_row(row, today, now):
            if row.valid_from is not None and today <= row.valid_from:
                detail = f"retired before its first day {row.valid_from}: no occurrences (not in the file)"
            else:
                detail = f"retired from {today} (not in the file)"
            plan.append(PlanItem("remove", f"window {product.key}.{name}", detail))
    return plan


_SHAPE = {"kind", "timezone", "days", "start_time", "end_time", "cron", "duration_seconds", "once_start", "once_end"}


def _may_add_past(row: WindowRule, differs: dict[str, object]) -> bool:
    """Whether a change can give the rule occurrences before now that it did not have.

    A new shape, an earlier (or no) ``from`` or a later (or no) ``until`` can: the rule then takes
    effect anew from now, and occurrences before that exist only when ``from`` imports them as
    history. Narrowing the dates or changing the label keeps the rule's history as it is.
    """
    if _SHAPE & differs.keys():
        return True
    new_from, new_until = differs.get("valid_from", row.valid_from), differs.get("valid_until", row.valid_until)
    assert new_from is None or isinstance(new_from, date)
    assert new_until is None or isinstance(new_until, date)
    earlier_from = "valid_from" in differs and (
        row.valid_from is not None and (new_from is None or new_from < row.valid_from)
    )
    later_until = "valid_until" in differs and (
        row.valid_until is not None and (new_until is None or new_until > row.valid_until)
    )
    return earlier_from or later_until


def _may_vanish(
    session: Session,
    now: datetime,
    cat: Catalogue,
    products: dict[str, Product],
    stored: _StoredWindows | None = None,
) -> tuple[set[str], set[int]]:
    """Where this file may take announced occurrences away, so that only those are read before the
    change (a no-op apply of 50,000 customers with a full outbox reads none): products whose stored
    windows it changes or retires, and customers whose zone changes (their ``local`` windows move)
    or who drop a subscription. Adding never takes an occurrence away."""
    today = now.astimezone(UTC).date()
    stored = stored or _stored_windows(session, cat, products)
    product_keys: set[str] = set()
    for spec in cat.products:
        product = products.get(spec.key)
        if product is None:
            continue
        rows = stored.rows.get(product.id, {})
        listed = {window.rule.name for window in spec.windows}
        changed = any(name in listed and stored.differs[(product.id, name)] for name in rows)
        retired = any(name not in listed and retires(row, today) for name, row in rows.items())
        if changed or retired:
            product_keys.add(spec.key)
    by_id = {p.id: key for key, p in products.items()}
    current: dict[int, set[str]] = defaultdict(set)
    for customer_id, product_id in session.execute(select(Subscription.customer_id, Subscription.product_id)):
        current[customer_id].add(by_id[product_id])
    stored_customers = {
        key: (cid, tz) for key, cid, tz in session.execute(select(Customer.key, Customer.id, Customer.timezone))
    }
    customer_ids = {
        stored_customers[c.key][0]
        for c in cat.customers
        if c.key in stored_customers
        and (stored_customers[c.key][1] != c.tz or current[stored_customers[c.key][0]] - set(c.subscriptions))
    }
    return product_keys, customer_ids


def _apply_customer(
    session: Session, now: datetime, spec: CustomerSpec, customers: dict[str, Customer]
) -> list[PlanItem]:
    """Add or update the customer row (flushed by the caller)."""
    customer = customers.get(spec.key)
    values: dict[str, Any] = {
        "name": spec.name,
        "timezone": spec.tz,
        "reminders": None if spec.reminders is None else json.dumps(list(spec.reminders)),
        "lifecycle_notices": spec.lifecycle_notices,
    }
    if customer is None:
        customers[spec.key] = Customer(key=spec.key, created_at=now, updated_at=now, **values)
        session.add(customers[spec.key])
        return [PlanItem("add", f"customer {spec.key}", f"{spec.name} ({spec.tz})")]
    changed = _update(customer, values, now)
    return [PlanItem("change", f"customer {spec.key}", changed)] if changed else []


def _apply_contacts(
    session: Session, now: datetime, spec: CustomerSpec, customer: Customer, current: list[tuple[int, str]]
) -> list[PlanItem]:
    """``current``: the customer's active contacts as (id, email)."""
    plan = []
    # Addresses that differ only in case are the same contact (notifications.addresses): a file that
    # writes 'Jane.Doe@x' for a stored 'jane.doe@x' keeps the contact and its nomination history.
    active = {address_key(email): (contact_id, email) for contact_id, email in current}
    wanted_contacts = {address_key(email) for email in spec.contacts}
    for email in spec.contacts:
        if address_key(email) not in active:
            session.add(Contact(customer_id=customer.id, email=email, nominated_at=now))
            plan.append(PlanItem("add", f"contact {spec.key} {email}"))
    for contact_key, (contact_id, email) in sorted(active.items()):
        if contact_key not in wanted_contacts:
            session.get_one(Contact, contact_id).removed_at = now
            plan.append(PlanItem("remove", f"contact {spec.key} {email}"))
    return plan


def _apply_subscriptions(
    session: Session,
    now: datetime,
    spec: CustomerSpec,
    customer: Customer,
    current: list[tuple[int, int]],
    products: dict[str, Product],
    product_keys: dict[int, str],
) -> list[PlanItem]:
    """``current``: the customer's subscriptions as (id, product id); ``product_keys`` by product id."""
    plan = []
    subscribed = {product_id: subscription_id for subscription_id, product_id in current}
    wanted = {products[key].id: key for key in spec.subscriptions}
    for product_id, key in wanted.items():
        if product_id not in subscribed:
            session.add(Subscription(customer_id=customer.id, product_id=product_id, created_at=now))
            plan.append(PlanItem("add", f"subscription {spec.key} -> {key}"))
    for product_id, subscription_id in subscribed.items():
        if product_id not in wanted:
            session.delete(session.get_one(Subscription, subscription_id))
            plan.append(PlanItem("remove", f"subscription {spec.key} -> {product_keys.get(product_id, product_id)}"))
    return plan
