"""Occurrences x customers x blackouts: every collision and how it was resolved (DESIGN §9).

A ``local`` occurrence in a customer's blackout is resolved by the product's policy (``skipped``
or ``moved``). A product-wide occurrence cannot be changed for one customer alone: it stays
``unresolved`` until ops move it out (``moved``), cancel it (``skipped``), or proceed with a
recorded reason (``overridden``, ``resolve_override``).

The listing expands each product's schedule once and finds, per customer, the occurrences each
blackout interval overlaps by bisection, so thousands of customers cost little more than one.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.blackouts.effects import blackout_blocks
from scheduler.occurrences.schedule import find_occurrence, occurrences
from scheduler.store.db import Database
from scheduler.store.models import Customer, Override, Product, Subscription
from scheduler.store.models_blackouts import ACTIVE, Blackout, ConflictResolution
from scheduler.store.repository import get_customer, get_product
from windows.collisions import Blocked, BlockedIndex
from windows.errors import Conflict, InvalidInput, NotFound
from windows.schedule import Scheduled
from windows.text import clean_text

SKIPPED, MOVED, UNRESOLVED, OVERRIDDEN = "skipped", "moved", "unresolved", "overridden"


class ConflictItem(NamedTuple):
    """One occurrence x customer x blackout: a tuple (a year of thousands of customers is a million
    of them) whose first fields are the listing's order."""

    start: datetime  # as the rule expands it (before any resolution)
    occurrence: str
    customer: str
    blackout: int
    product: str
    label: str
    resolution: str  # skipped | moved | unresolved | overridden
    end: datetime
    deadline: datetime | None

    def open_at(self, now: datetime) -> bool:
        """Unresolved and inside its notice period: too late to tell the customers of a change."""
        return self.resolution == UNRESOLVED and self.deadline is not None and self.deadline <= now < self.end


def open_conflicts(db: Database, now: datetime) -> list[ConflictItem]:
    """Unresolved conflicts already inside their notice period (what the worker warns about)."""
    with db.transaction() as session:
        days = max(session.scalars(select(Product.notice_days)).all(), default=0)
        if not session.scalar(select(Blackout.id).where(Blackout.status == ACTIVE).limit(1)):
            return []
        found = _conflicts(session, now - timedelta(days=8), now + timedelta(days=days + 1))
    return [c for c in found if c.open_at(now)]


def list_conflicts(db: Database, start: datetime, end: datetime) -> list[ConflictItem]:
    """Every collision of an occurrence overlapping [start, end) with a customer's active blackout."""
    with db.transaction() as session:
        return _conflicts(session, start, end)


def conflicts_in(session: Session, start: datetime, end: datetime) -> list[ConflictItem]:
    """``list_conflicts`` inside the caller's transaction."""
    return _conflicts(session, start, end)


def _conflicts(session: Session, start: datetime, end: datetime) -> list[ConflictItem]:
    rows = session.execute(
        select(Blackout, Customer).join(Customer, Customer.id == Blackout.customer_id).where(Blackout.status == ACTIVE)
    ).all()
    by_customer: dict[int, list[Blackout]] = defaultdict(list)
    customers: dict[int, Customer] = {}
    for row, cust in rows:
        by_customer[cust.id].append(row)
        customers[cust.id] = cust
    if not by_customer:
        return []
    labels = {row.id: row.label for row, _ in rows}
    products = list(session.scalars(select(Product).order_by(Product.key)))
    subscriptions: dict[int, set[int]] = defaultdict(set)
    for cust_id, prod_id in session.execute(select(Subscription.customer_id, Subscription.product_id)):
        subscriptions[cust_id].add(prod_id)
    own_changes = {
        (cust_id, prod_id)
        for cust_id, prod_id in session.execute(
            select(Override.customer_id, Override.product_id).where(Override.customer_id.is_not(None)).distinct()
        )
    }
    overridden = {
        (occ, cust_id)
        for occ, cust_id in session.execute(select(ConflictResolution.occurrence_id, ConflictResolution.customer_id))
    }
    shared = _SharedSchedule(session, products, start, end)
    found: list[ConflictItem] = []
    for cust_id, blackouts in by_customer.items():
        cust = customers[cust_id]
        cust_key = cust.key
        index = BlockedIndex(blackout_blocks(blackouts, cust.timezone, start, end))
        subscribed = subscriptions[cust_id]
        seen: set[tuple[str, int]] = set()
        for block in index.items:
            blackout = int(block.ident[1:])
            label = labels[blackout]
            for hit in shared.overlapping(block.start, block.end):
                item, occ_id, prod_id, prod_key, twice = hit
                if prod_id not in subscribed:
                    continue
                if twice:  # listed at its original and its new time: count it once
                    if (occ_id, blackout) in seen:
                        continue
                    seen.add((occ_id, blackout))
                view = item
                if (cust_id, prod_id) in own_changes:
                    view = find_occurrence(session, occ_id, cust_key) or item
                status = view.status
                if status == "scheduled":
                    resolution = OVERRIDDEN if (occ_id, cust_id) in overridden else UNRESOLVED
                elif status == "cancelled":
                    resolution = SKIPPED
                elif index.first_overlap(view.start, view.end) is None:
                    resolution = MOVED
                else:
                    resolution = OVERRIDDEN if (occ_id, cust_id) in overridden else UNRESOLVED
                occ = view.occurrence
                found.append(
                    ConflictItem(
                        occ.start,
                        occ_id,
                        cust_key,
                        blackout,
                        prod_key,
                        label,
                        resolution,
                        occ.end,
                        view.notice_deadline,
                    )
                )
        for prod in products:
            if prod.id in subscribed and prod.id in shared.local_products:
                found.extend(_local_conflicts(session, prod, cust, index, labels, start, end))
    found.sort()  # by start, occurrence, customer, blackout (unique: later fields never compared)
    return found


_Hit = tuple[Scheduled, str, int, str, bool]


class _SharedSchedule:
    """Product-wide planned occurrences of every product, sorted for bisection (original and final times)."""

    def __init__(self, session: Session, products: list[Product], start: datetime, end: datetime) -> None:
        self.local_products = {p.id for p in products if any(r.timezone == "local" for r in p.rules)}
        entries: list[tuple[datetime, datetime, Scheduled, int, str]] = []
        for prod in products:
            if not any(r.timezone != "local" for r in prod.rules):
                continue
            prod_id, prod_key = prod.id, prod.key
            for item in occurrences(session, start, end, product=prod_key, include_cancelled=True):
                if item.kind != "planned" or item.occurrence.customer is not None:
                    continue
                occ = item.occurrence
                entries.append((occ.start, occ.end, item, prod_id, prod_key))
                if (item.start, item.end) != (occ.start, occ.end):
                    entries.append((item.start, item.end, item, prod_id, prod_key))
        entries.sort(key=lambda e: (e[0], e[2].id))
        self._entries = entries
        self._starts = [e[0] for e in entries]
        self._reach = max((e[1] - e[0] for e in entries), default=timedelta(0))
        self._cache: dict[tuple[datetime, datetime], list[_Hit]] = {}

    def overlapping(self, lo: datetime, hi: datetime) -> list[_Hit]:
        """(occurrence, its id, product id, product key, listed twice) overlapping [lo, hi); cached
        (customers in one zone share their yearly and monthly blackouts)."""
        cached = self._cache.get((lo, hi))
        if cached is None:
            i = bisect_left(self._starts, lo - self._reach)
            cached = []
            entries = self._entries
            while i < len(entries) and entries[i][0] < hi:
                entry = entries[i]
                if entry[1] > lo:
                    item = entry[2]
                    occ = item.occurrence
                    twice = (item.start, item.end) != (occ.start, occ.end)
                    cached.append((item, occ.id, entry[3], entry[4], twice))
                i += 1
            self._cache[(lo, hi)] = cached
        return cached


def _local_conflicts(
    session: Session,
    prod: Product,
    cust: Customer,
    index: BlockedIndex,
    labels: dict[int, str],
    start: datetime,
    end: datetime,
) -> list[ConflictItem]:
    items = occurrences(session, start, end, product=prod.key, customer=cust.key, include_cancelled=True)
    found = []
    for item in items:
        if item.kind != "planned" or item.occurrence.customer is None:
            continue
        block = index.first_overlap(item.occurrence.start, item.occurrence.end)
        if block is None or item.status == "scheduled":
            continue
        found.append(_item(item, prod, cust, block, labels, SKIPPED if item.status == "cancelled" else MOVED))
    return found


def _item(
    item: Scheduled, prod: Product, cust: Customer, block: Blocked, labels: dict[int, str], resolution: str
) -> ConflictItem:
    blackout = int(block.ident.removeprefix("b"))
    return ConflictItem(
        occurrence=item.id,
        product=prod.key,
        customer=cust.key,
        blackout=blackout,
        label=labels[blackout],
        resolution=resolution,
        start=item.occurrence.start,
        end=item.occurrence.end,
        deadline=item.notice_deadline,
    )


def resolve_override(db: Database, now: datetime, occurrence_id: str, customer: str, reason: str) -> ConflictItem:
    """Ops proceed with product-wide ``occurrence_id`` in ``customer``'s blackout; the reason is recorded."""
    reason = clean_text("--reason", reason, max_length=2000)
    with db.transaction() as session:
        cust = get_customer(session, customer)
        product = get_product(session, occurrence_id.split(".")[0])
        item = find_occurrence(session, occurrence_id, cust.key)
        if item is None:
            raise NotFound(f"no occurrence '{occurrence_id}' for customer '{customer}' (see 'maintcal conflicts')")
        if item.occurrence.customer is not None:
            raise InvalidInput(f"'{occurrence_id}' is a local occurrence: the product's on_blackout policy resolves it")
        window = (item.occurrence.start - timedelta(days=1), item.occurrence.end + timedelta(days=1))
        match = [
            c
            for c in _conflicts(session, *window)
            if c.occurrence == occurrence_id and c.customer == cust.key and c.resolution == UNRESOLVED
        ]
        done = session.scalar(
            select(ConflictResolution.id).where(
                ConflictResolution.occurrence_id == occurrence_id, ConflictResolution.customer_id == cust.id
            )
        )
        if done is not None:
            raise Conflict(f"'{occurrence_id}' was already overridden for '{customer}'")
        if not match:
            raise Conflict(f"'{occurrence_id}' has no unresolved conflict with a blackout of '{customer}'")
        session.add(
            ConflictResolution(
                product_id=product.id, occurrence_id=occurrence_id, customer_id=cust.id, reason=reason, created_at=now
            )
        )
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"'{occurrence_id}' was already overridden for '{customer}'") from None
        return match[0]._replace(resolution=OVERRIDDEN)
