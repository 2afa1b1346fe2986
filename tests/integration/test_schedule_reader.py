"""The shared ``ScheduleReader`` (issue 11) gives exactly what reading every change of a product did.

A generated catalogue (the changes fixtures plus 12 customers in other zones) gets 80 random
overrides: product-wide and per-customer, moves and cancels, several decisions on one occurrence,
moves from outside the range into it. Every view (product-wide and each customer's) is compared,
item by item, with a reference that applies *every* change of the product to every view, as
``occurrences`` did before the reader: once with a reader shared by all views, once without.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.catalogue import edits as catalogue
from scheduler.occurrences.reader import ScheduleReader
from scheduler.occurrences.schedule import find_occurrence, occurrences
from scheduler.store.db import Database
from scheduler.store.models import Customer, Override, Product, Subscription
from scheduler.store.repository import get_product, rule_to_domain
from tests.integration.changes_fixtures import NOW, load
from windows.expansion import Occurrence, expand
from windows.rules import Rule
from windows.schedule import Change, Scheduled, apply_changes

START, END = datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 15, tzinfo=UTC)
Occurrences = list[Occurrence]
ZONES = ["Asia/Kolkata", "America/Los_Angeles", "Europe/Berlin", "Pacific/Auckland"]


def _populate(db: Database) -> list[str]:
    load(db)
    extra = [f"cust{n:02d}" for n in range(12)]
    for n, key in enumerate(extra):
        catalogue.add_customer(db, NOW, key, f"Customer {n}", ZONES[n % len(ZONES)], [f"ops@{key}.example"])
        catalogue.subscribe(db, NOW, key, ["pe", "pc"] if n % 3 else ["pc"])
    customers = ["thames", "harbour", "nile", *extra]
    rng = random.Random(11)
    days = [date(2027, 1, 20) + timedelta(days=n) for n in range(80)]
    bases = [f"pe.nightly.{d:%Y%m%d}" for d in days if d.weekday() in (1, 3)]
    bases += [f"pc.early.{d:%Y%m%d}" for d in days if d.weekday() == 1]
    decisions: dict[str, int] = defaultdict(int)
    with db.transaction() as session:
        ids = {p.key: p.id for p in session.scalars(select(Product))}
        cust_ids = {c.key: c.id for c in session.scalars(select(Customer))}
        for _ in range(80):
            base = rng.choice(bases[:6] if rng.random() < 0.3 else bases)  # a few occurrences get many decisions
            product = base.split(".")[0]
            who = None if rng.random() < 0.3 else rng.choice(customers)
            start = datetime(2027, 1, 25, tzinfo=UTC) + timedelta(hours=rng.randrange(0, 24 * 60))
            action = "cancel" if rng.random() < 0.25 else "move"
            decisions[base] += 1
            session.add(
                Override(
                    product_id=ids[product],
                    occurrence_id=base,
                    customer_id=cust_ids[who] if who else None,
                    action=action,
                    new_start=start if action == "move" else None,
                    new_end=start + timedelta(hours=rng.randrange(1, 6)) if action == "move" else None,
                    reason="generated",
                    customer_consent=rng.random() < 0.2,
                    decision=decisions[base],
                    created_at=NOW,
                )
            )
    return customers


def _reference(session: Session, product: str, customer: str | None) -> list[Scheduled]:
    """The view as computed before the reader: every change of the product offered to every view."""
    prod = get_product(session, product)
    rows = session.execute(
        select(Override, Customer.key)
        .outerjoin(Customer, Customer.id == Override.customer_id)
        .where(Override.product_id == prod.id)
        .order_by(Override.occurrence_id, Override.decision)
    )
    changes = [
        Change(o.occurrence_id, key, o.action, o.new_start, o.new_end, o.decision, o.customer_consent, o.waived_reason)
        for o, key in rows
    ]
    subscribers = list(session.scalars(select(Customer).join(Subscription).where(Subscription.product_id == prod.id)))
    viewers = [c for c in subscribers if c.key == customer] if customer else None
    result = []
    for rule in (rule_to_domain(row, prod.key) for row in prod.rules):
        views = viewers if viewers is not None else (subscribers if rule.is_local else [None])
        for viewer in views:
            key = viewer.key if viewer else None

            def grow(
                lo: datetime, hi: datetime, rule: Rule = rule, viewer: Customer | None = viewer
            ) -> list[Occurrence]:
                if rule.is_local:
                    assert viewer is not None
                    return expand(rule, lo, hi, local_tz=viewer.timezone, customer=viewer.key)
                return expand(rule, lo, hi)

            expanded = {o.id: o for o in expand_all(grow, changes, prod.key, rule.name, key)}
            for occ in expanded.values():
                scheduled = apply_changes(occ, changes, key, prod.notice_days)
                if scheduled.start < END and scheduled.end > START:
                    result.append(scheduled)
    result.sort(key=lambda s: (s.start, s.id))
    return result


def expand_all(
    grow: Callable[[datetime, datetime], list[Occurrence]],
    changes: list[Change],
    product: str,
    rule: str,
    key: str | None,
) -> list[Occurrence]:
    """The rule's occurrences in the range, plus those moved into it from elsewhere."""
    found = list(grow(START, END))
    for change in changes:
        if (
            change.action == "move"
            and change.base_id.startswith(f"{product}.{rule}.")
            and change.customer in (None, key)
        ):
            assert change.new_start and change.new_end
            if change.new_start < END and change.new_end > START:
                day = datetime.strptime(change.base_id.rsplit(".", 1)[-1], "%Y%m%d").replace(tzinfo=UTC)
                found += [
                    o for o in grow(day - timedelta(days=2), day + timedelta(days=3)) if o.base_id == change.base_id
                ]
    return found


def test_every_view_matches_the_reference_with_and_without_a_shared_reader(db: Database) -> None:
    customers = _populate(db)
    with db.transaction() as session:
        reader = ScheduleReader(session)
        compared = 0
        for product in ("pe", "pc"):
            for customer in [None, *customers]:
                if customer and product not in _subscribed(session, customer):
                    continue
                expected = _reference(session, product, customer)
                shared = occurrences(
                    session, START, END, product=product, customer=customer, include_cancelled=True, reader=reader
                )
                alone = occurrences(session, START, END, product=product, customer=customer, include_cancelled=True)
                assert shared == expected
                assert alone == expected
                for item in expected:
                    assert find_occurrence(session, item.id, customer) == item
                compared += len(expected)
        assert compared > 300
        moved_in = [s for s in _reference(session, "pe", None) if s.status == "moved"]
        assert moved_in, "the generated overrides move some occurrences"


def _subscribed(session: Session, customer: str) -> set[str]:
    return set(session.scalars(select(Product.key).join(Subscription).join(Customer).where(Customer.key == customer)))
