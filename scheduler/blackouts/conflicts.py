"""Occurrences x customers x blackouts: every collision and how it was resolved (DESIGN §9).

A ``local`` occurrence in a customer's blackout is resolved by the product's policy (``skipped``
or ``moved``). A product-wide occurrence cannot be changed for one customer alone: it stays
``unresolved`` until ops move it out (``moved``), cancel it (``skipped``), or proceed with a
recorded reason (``overridden``, ``resolve_override``).

The listing expands each product's schedule once, and each distinct blackout (spec and zone) once:
customers sharing a spec and zone share its intervals (``SharedBlocks``). Each product-wide
occurrence, in order, finds by bisection the intervals it overlaps and lists their customers
(sorted once per interval), so the items come out in the listing's order without a sort of the
million of them, and nothing per item but a tuple is made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from heapq import merge
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.blackouts.effects import spec_blocks, spec_intervals, spec_of
from scheduler.gc_pause import gc_paused
from scheduler.occurrences.schedule import find_occurrence, occurrences
from scheduler.store.db import Database
from scheduler.store.models import Customer, Override, Product, Subscription
from scheduler.store.models_blackouts import ACTIVE, Blackout, ConflictResolution
from scheduler.store.repository import get_customer, get_product
from windows.blackouts import BlackoutSpec
from windows.collisions import BlockedIndex, SharedBlocks
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
        return conflicts_in(session, start, end)


def conflicts_in(session: Session, start: datetime, end: datetime) -> list[ConflictItem]:
    """``list_conflicts`` inside the caller's transaction."""
    with gc_paused():  # a million tuples without cycles: the collector's passes took 1.5 s of 1.8 s
        return _conflicts(session, start, end)


def _conflicts(session: Session, start: datetime, end: datetime) -> list[ConflictItem]:
    blackouts = _ActiveBlackouts(session, start, end)
    if not blackouts.customers:
        return []
    products = list(session.scalars(select(Product).order_by(Product.key)))
    subscribers: dict[int, set[int]] = defaultdict(set)
    for cust_id, prod_id in session.execute(select(Subscription.customer_id, Subscription.product_id)):
        subscribers[prod_id].add(cust_id)
    own_changes: dict[int, set[int]] = defaultdict(set)  # product: customers with changes of their own
    for owner, changed in session.execute(
        select(Override.customer_id, Override.product_id).where(Override.customer_id.is_not(None)).distinct()
    ):
        if owner is not None:
            own_changes[changed].add(owner)
    overridden: dict[str, set[int]] = defaultdict(set)  # occurrence: customers ops kept it for
    for occ_id, cust_id in session.execute(select(ConflictResolution.occurrence_id, ConflictResolution.customer_id)):
        overridden[occ_id].add(cust_id)
    everyone = blackouts.customers.keys()
    shared = blackouts.shared()
    merged: dict[tuple[int, ...], Sequence[_Member]] = {}  # occurrences at the same times hit the same intervals
    found: list[ConflictItem] = []
    new, kind = tuple.__new__, ConflictItem
    for item, prod_id, prod_key, spans in _shared_occurrences(session, products, start, end):
        groups = [group for lo, hi in spans for group in shared.overlapping(lo, hi)]
        if not groups:
            continue
        key = tuple(id(group) for group in groups)
        hits = merged.get(key)
        if hits is None:
            hits = merged[key] = groups[0] if len(groups) == 1 else sorted(set().union(*groups))
        subscribed = subscribers[prod_id]
        occ = item.occurrence
        occ_id, occ_start, occ_end = occ.id, occ.start, occ.end
        changed_for = own_changes.get(prod_id, set())
        kept_for = overridden.get(occ_id, set())
        if item.status == "scheduled" and not changed_for and not kept_for:  # the common case: one view
            deadline = item.notice_deadline
            if everyone <= subscribed:
                found += [
                    new(kind, (occ_start, occ_id, ck, bid, prod_key, label, UNRESOLVED, occ_end, deadline))
                    for ck, bid, _, label in hits
                ]
            else:
                found += [
                    new(kind, (occ_start, occ_id, ck, bid, prod_key, label, UNRESOLVED, occ_end, deadline))
                    for ck, bid, cid, label in hits
                    if cid in subscribed
                ]
            continue
        for ck, bid, cid, label in hits:
            if cid not in subscribed:
                continue
            view = (find_occurrence(session, occ_id, ck) or item) if cid in changed_for else item
            kept = OVERRIDDEN if cid in kept_for else UNRESOLVED
            if view.status == "scheduled":
                resolution = kept
            elif view.status == "cancelled":
                resolution = SKIPPED
            else:
                resolution = MOVED if blackouts.index(cid).first_overlap(view.start, view.end) is None else kept
            deadline = view.notice_deadline
            found.append(kind(occ_start, occ_id, ck, bid, prod_key, label, resolution, occ_end, deadline))
    local = [
        conflict
        for prod in products
        if any(r.timezone == "local" for r in prod.rules)
        for cid in sorted(subscribers[prod.id] & blackouts.customers.keys(), key=lambda c: blackouts.customers[c][0])
        for conflict in _local_conflicts(
            session, prod, blackouts.customers[cid][0], blackouts.index(cid), blackouts.label, start, end
        )
    ]
    if local:  # ``found`` is in order already (by start, occurrence, customer, blackout): merge
        found = list(merge(found, sorted(local)))
    return found


class _ActiveBlackouts:
    """Every active blackout as plain rows, its customer's key and zone, and its UTC intervals near
    [start, end): per customer (a ``BlockedIndex``, built when asked) and shared (``SharedBlocks``)."""

    def __init__(self, session: Session, start: datetime, end: datetime) -> None:
        self._start, self._end = start, end
        self.customers: dict[int, tuple[str, str]] = {}  # id: (key, zone)
        self._specs: dict[int, list[tuple[int, BlackoutSpec]]] = defaultdict(list)
        self._labels: dict[int, str] = {}
        rows = session.execute(
            select(
                Blackout.id,
                Blackout.kind,
                Blackout.local_start,
                Blackout.local_end,
                Blackout.spec,
                Blackout.label,
                Customer.id,
                Customer.key,
                Customer.timezone,
            )
            .join(Customer, Customer.id == Blackout.customer_id)
            .where(Blackout.status == ACTIVE)
        )
        for ident, kind, local_start, local_end, spec, label, cust_id, cust_key, zone in rows:
            self.customers[cust_id] = (cust_key, zone)
            self._specs[cust_id].append((ident, spec_of(kind, local_start, local_end, spec)))
            self._labels[ident] = label
        self._indexes: dict[int, BlockedIndex] = {}

    def index(self, cust_id: int) -> BlockedIndex:
        if cust_id not in self._indexes:
            zone = self.customers[cust_id][1]
            self._indexes[cust_id] = BlockedIndex(spec_blocks(self._specs[cust_id], zone, self._start, self._end))
        return self._indexes[cust_id]

    def label(self, blackout: int) -> str:
        return self._labels[blackout]

    def shared(self) -> SharedBlocks[_Member]:
        """Each distinct interval with the (customer key, blackout, customer id, label) it blocks, sorted."""
        by_spec: dict[tuple[BlackoutSpec, str], list[_Member]] = defaultdict(list)
        for cust_id, specs in self._specs.items():
            cust_key, zone = self.customers[cust_id]
            for ident, spec in specs:
                by_spec[(spec, zone)].append((cust_key, ident, cust_id, self._labels[ident]))
        groups: dict[tuple[datetime, datetime], list[_Member]] = defaultdict(list)
        for (spec, zone), members in by_spec.items():
            for span in spec_intervals(spec, zone, self._start, self._end):
                groups[span] += members
        for members in groups.values():
            members.sort()
        return SharedBlocks(groups)


_Member = tuple[str, int, int, str]  # customer key, blackout id, customer id, label


def _shared_occurrences(
    session: Session, products: list[Product], start: datetime, end: datetime
) -> list[tuple[Scheduled, int, str, list[tuple[datetime, datetime]]]]:
    """Product-wide planned occurrences of every product, by (start, id), each with the spans where it
    collides: its time as the rule expands it, and its final time when ops moved it."""
    found = []
    for prod in products:
        if not any(r.timezone != "local" for r in prod.rules):
            continue
        for item in occurrences(session, start, end, product=prod.key, include_cancelled=True):
            if item.kind != "planned" or item.occurrence.customer is not None:
                continue
            occ = item.occurrence
            spans = [(occ.start, occ.end)]
            if (item.start, item.end) != spans[0]:
                spans.append((item.start, item.end))
            found.append((item, prod.id, prod.key, spans))
    found.sort(key=lambda entry: (entry[0].occurrence.start, entry[0].occurrence.id))
    return found


def _local_conflicts(
    session: Session,
    prod: Product,
    customer: str,
    index: BlockedIndex,
    label: Callable[[int], str],
    start: datetime,
    end: datetime,
) -> list[ConflictItem]:
    """``customer``'s own occurrences of ``prod`` in its blackouts, as the product's policy left them."""
    items = occurrences(session, start, end, product=prod.key, customer=customer, include_cancelled=True)
    found = []
    for item in items:
        if item.kind != "planned" or item.occurrence.customer is None:
            continue
        block = index.first_overlap(item.occurrence.start, item.occurrence.end)
        if block is None or item.status == "scheduled":
            continue
        blackout = int(block.ident.removeprefix("b"))
        resolution = SKIPPED if item.status == "cancelled" else MOVED
        occ = item.occurrence
        found.append(
            ConflictItem(
                occ.start,
                item.id,
                customer,
                blackout,
                prod.key,
                label(blackout),
                resolution,
                occ.end,
                item.notice_deadline,
            )
        )
    return found


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
