"""The planning run (DESIGN §3): one digest per contact announcing what entered the horizon.

Every customer's view is read at once, compared with what its contacts were already told, and the
new digests are written with ``enqueue.write_notices`` in the run's one transaction; unsent notices
whose times have changed are superseded. Nothing is sent here: the worker sends them later.

A run reads only the customers that may have something new since the last run (``plan_scope``):
those a change touched and those an occurrence, reminder or contact reaches by time passing. With
nothing new it reads no customer's view (issue 11).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from notifications.addresses import address_problem
from notifications.content import ANNOUNCE, PUBLISH
from scheduler.notices.enqueue import write_notices
from scheduler.notices.lifecycle import plan_lifecycle
from scheduler.notices.plan_scope import data_version_now, plan_scope, save_mark
from scheduler.notices.supersede import supersede
from scheduler.occurrences.reader import ScheduleReader
from scheduler.occurrences.schedule import occurrences
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer, Override, Product, Subscription, Unplanned
from scheduler.store.models_endpoints import Endpoint
from scheduler.store.models_outbox import QUEUED, SUPERSEDED, Delivery, DeliveryOccurrence
from windows.notice import CoverKey, due_for_announcement, horizon_end, plan_digests
from windows.schedule import Scheduled


@dataclass(frozen=True)
class PlannedDigest:
    customer: str
    email: str
    occurrences: tuple[str, ...]
    problem: str | None = None  # why it cannot be sent: recorded as a failed delivery instead


@dataclass(frozen=True)
class PlanResult:
    digests: list[PlannedDigest]
    dry_run: bool
    lifecycle: int = 0  # reminders, started and finished deliveries queued for later
    examined: tuple[str, ...] = ()  # the customers whose views were read (the others had nothing new)
    everyone: bool = True  # every customer was read (no watermark to start from, or a change to everything)

    @property
    def deliveries(self) -> int:
        """Digests queued for sending (a digest to an address that cannot be used is recorded as failed)."""
        return sum(1 for d in self.digests if d.problem is None)

    @property
    def customers(self) -> int:
        return len({d.customer for d in self.digests})

    @property
    def occurrences(self) -> int:
        return len({(d.customer, o) for d in self.digests for o in d.occurrences})


def plan_notices(
    db: Database, now: datetime, settings: Settings, dry_run: bool = False, *, everyone: bool = False
) -> PlanResult:
    """Queue one digest per contact announcing what entered the horizon; safe to run again.

    Every customer's view is read at ``now``: the planned, not cancelled occurrences that start
    within ``notice_days + lead_days`` and that a contact has not been told about at their current
    times are announced to that contact. Two runs at once: the unique key on delivery_occurrences
    makes the later commit fail, and it is re-planned against what the first one wrote.

    Only the customers with something new since the last run are read (``plan_scope``);
    ``everyone``: every customer (after rows were changed by hand, without a data version).
    """
    for attempt in range(3):
        try:
            with db.transaction() as session:
                return _plan(session, now, settings, dry_run, everyone)
        except (IntegrityError, OperationalError) as error:
            # Another run committed first (unique key), or on SQLite wrote since this one began reading.
            retry = isinstance(error, IntegrityError) or "locked" in str(error.orig)
            if attempt == 2 or not retry:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _plan(session: Session, now: datetime, settings: Settings, dry_run: bool, everyone: bool) -> PlanResult:
    version = data_version_now(session)  # first: every change up to it is committed (plan_scope)
    products = {p.key: p for p in session.scalars(select(Product).options(selectinload(Product.rules)))}
    if not products:
        return PlanResult([], dry_run)
    only = None if everyone else plan_scope(session, now, settings, products, version)
    if only is not None and not only:
        if not dry_run:
            save_mark(session, now, settings, version)
        return PlanResult([], dry_run, everyone=False)
    notice_days = {key: p.notice_days for key, p in products.items()}
    end = horizon_end(now, max(notice_days.values()), settings.lead_days)
    views = _Views(session, now, end, products, only)
    told = _told(session, now, only)
    customers = _customers(session, only)
    planned: list[PlannedDigest] = []
    batches: list[tuple[Customer, list[tuple[Contact | None, tuple[Scheduled, ...]]]]] = []
    stale: set[int] = set()
    endpoints: dict[int, list[int]] = defaultdict(list)
    for endpoint_id, customer_id in session.execute(
        select(Endpoint.id, Endpoint.customer_id).where(Endpoint.removed_at.is_(None)).order_by(Endpoint.id)
    ):
        endpoints[customer_id].append(endpoint_id)
    hooked = _announced_to_endpoints(session, now, only) if endpoints else set()
    for customer in customers:
        items = views.of(customer)
        # An unsent notice giving times that have changed since is never sent (DESIGN §3).
        current = {s.id: (s.start, s.end) for s in items}
        outdated = {t.delivery for t in told[customer.id] if t.queued and current.get(t.occurrence, t.times) != t.times}
        stale |= outdated
        active = {c.email: c for c in customer.contacts if c.active_at(now)}
        hooks = endpoints.get(customer.id, [])
        due = due_for_announcement(items, now, notice_days, settings.lead_days) if active or hooks else []
        if not due:
            continue
        covered = {t.key for t in told[customer.id] if t.delivery not in outdated}
        digests = plan_digests(due, active, covered) if active else []
        # Endpoints are told each occurrence at its times once, like an address (channels.py).
        fresh = tuple(s for s in due if any((f"endpoint:{e}", s.id, s.start, s.end) not in hooked for e in hooks))
        if digests or fresh:
            batches.append(
                (customer, [(active[d.email], d.items) for d in digests] + ([(None, fresh)] if fresh else []))
            )
            planned.extend(
                PlannedDigest(customer.key, d.email, tuple(s.id for s in d.items), address_problem(d.email))
                for d in digests
            )
    examined = tuple(c.key for c in customers)
    if dry_run:
        return PlanResult(planned, dry_run, examined=examined, everyone=only is None)
    supersede(session, now, stale)
    if batches:
        names = {key: p.name for key, p in products.items()}
        write_notices(session, now, settings, ANNOUNCE, None, batches, names)
    lifecycle = plan_lifecycle(
        session, now, settings, views.with_unplanned(settings), customers=None if only is None else examined, sweep=True
    )
    save_mark(session, now, settings, version)
    return PlanResult(planned, dry_run, lifecycle, examined, only is None)


def _customers(session: Session, only: set[int] | None) -> list[Customer]:
    """The customers to plan (with their contacts), by key: every one, or those of ``only``."""
    query = select(Customer).options(selectinload(Customer.contacts))
    if only is None:
        return list(session.scalars(query.order_by(Customer.key)))
    found = [c for ids in _chunks(only) for c in session.scalars(query.where(Customer.id.in_(ids)))]
    return sorted(found, key=lambda c: c.key)


def _chunks(ids: set[int], size: int = 1000) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _batches(only: set[int] | None) -> list[list[int] | None]:
    """The id lists to narrow a query with, one query each; [None]: one query, not narrowed."""
    return [None] if only is None else list(_chunks(only))


class _Views:
    """Every customer's view of [now, end), read with one product-wide query per product.

    A customer sees a product's non-local occurrences exactly as the product-wide view shows them,
    unless it has changes of its own on that product: only then is its view read separately.
    Occurrences of ``local`` rules are per customer in the product-wide view already.
    """

    def __init__(
        self, session: Session, now: datetime, end: datetime, products: dict[str, Product], only: set[int] | None
    ) -> None:
        """``only``: the ids of the customers whose views are asked for (None: every customer)."""
        self.session, self.now, self.end = session, now, end
        self.reader = ScheduleReader(session, among=only)
        self.key_of = {p.id: key for key, p in products.items()}
        self.subscriptions: dict[int, list[str]] = defaultdict(list)
        self.own_changes: set[tuple[int | None, str]] = set()
        for ids in _batches(only):
            mine = select(Subscription.customer_id, Subscription.product_id)
            theirs = select(Override.product_id, Override.customer_id).where(Override.customer_id.is_not(None))
            if ids is not None:
                mine = mine.where(Subscription.customer_id.in_(ids))
                theirs = theirs.where(Override.customer_id.in_(ids))
            for customer_id, product_id in session.execute(mine.order_by(Subscription.product_id)):
                self.subscriptions[customer_id].append(self.key_of[product_id])
            self.own_changes.update(
                (customer_id, self.key_of[product_id]) for product_id, customer_id in session.execute(theirs.distinct())
            )
        self._of: dict[int, list[Scheduled]] = {}
        self.shared: dict[str, list[Scheduled]] = defaultdict(list)
        self.local: dict[tuple[str, str], list[Scheduled]] = defaultdict(list)
        for key in products:
            for item in occurrences(session, now, end, product=key, reader=self.reader):
                if item.kind != "planned":
                    continue
                if item.occurrence.customer is None:
                    self.shared[key].append(item)
                elif item.customer is not None:
                    self.local[(key, item.customer)].append(item)

    def with_unplanned(self, settings: Settings) -> Callable[[Customer], list[Scheduled]]:
        """``of`` plus the unplanned windows open or starting within ``lifecycle_ahead_hours`` (rare:
        read per customer only for the products that have one)."""
        ahead = self.now + timedelta(hours=settings.lifecycle_ahead_hours)
        ids = set(
            self.session.scalars(
                select(Unplanned.product_id).where(Unplanned.end > self.now, Unplanned.start <= ahead).distinct()
            )
        )
        keys = {self.key_of[i] for i in ids if i in self.key_of}

        def items(customer: Customer) -> list[Scheduled]:
            found = self.of(customer)
            for key in keys & set(self.subscriptions.get(customer.id, [])):
                found.extend(
                    s
                    for s in occurrences(self.session, self.now, ahead, product=key, customer=customer.key)
                    if s.kind == "unplanned"
                )
            return found

        return items

    def of(self, customer: Customer) -> list[Scheduled]:
        """``customer``'s planned occurrences in [now, end) (a new list each time)."""
        found = self._of.get(customer.id)
        if found is None:
            found = self._of[customer.id] = self._read(customer)
        return list(found)

    def _read(self, customer: Customer) -> list[Scheduled]:
        items: list[Scheduled] = []
        for key in self.subscriptions.get(customer.id, []):
            if (customer.id, key) in self.own_changes:
                self.reader.know([customer])
                items.extend(
                    occurrences(
                        self.session, self.now, self.end, product=key, customer=customer.key, reader=self.reader
                    )
                )
            else:
                items.extend(self.shared[key])
                items.extend(self.local[(key, customer.key)])
        return items


@dataclass(frozen=True)
class _Told:
    """A PUBLISH notice (not superseded) that told ``email`` about an occurrence at some times."""

    delivery: int
    queued: bool
    email: str
    occurrence: str
    times: tuple[datetime, datetime]

    @property
    def key(self) -> CoverKey:
        return (self.email, self.occurrence, *self.times)


def _announced_to_endpoints(
    session: Session, now: datetime, only: set[int] | None
) -> set[tuple[str | None, str, datetime, datetime]]:
    """(``endpoint:<id>``, occurrence, start, end) already announced to an endpoint, for windows not over."""
    query = (
        select(
            DeliveryOccurrence.announced_to,
            DeliveryOccurrence.occurrence_id,
            DeliveryOccurrence.start,
            DeliveryOccurrence.end,
        )
        .join(Delivery, Delivery.id == DeliveryOccurrence.delivery_id)
        .where(
            DeliveryOccurrence.announced_to.like("endpoint:%"),
            DeliveryOccurrence.end > now,
            Delivery.status != SUPERSEDED,
        )
    )
    return {
        (label, occurrence, start, end)
        for ids in _batches(only)
        for label, occurrence, start, end in session.execute(
            query if ids is None else query.where(DeliveryOccurrence.customer_id.in_(ids))
        )
    }


def _told(session: Session, now: datetime, only: set[int] | None) -> dict[int, list[_Told]]:
    """Per customer (of ``only``: None for every one), what its contacts were told (or are about to
    be) about windows not yet over."""
    query = (
        select(
            DeliveryOccurrence.customer_id,
            Delivery.id,
            Delivery.status,
            Delivery.email,
            DeliveryOccurrence.occurrence_id,
            DeliveryOccurrence.start,
            DeliveryOccurrence.end,
        )
        .join(Delivery, Delivery.id == DeliveryOccurrence.delivery_id)
        .where(
            DeliveryOccurrence.method == PUBLISH,
            DeliveryOccurrence.end > now,
            Delivery.status != SUPERSEDED,
            Delivery.channel == "email",  # endpoints are announced by their own rows (channels.py)
            Delivery.due_key.is_(None),  # a reminder queued for later does not announce anything
        )
    )
    told: dict[int, list[_Told]] = defaultdict(list)
    for ids in _batches(only):
        narrowed = query if ids is None else query.where(DeliveryOccurrence.customer_id.in_(ids))
        for customer_id, delivery, status, email, occurrence, start, end in session.execute(narrowed):
            told[customer_id].append(_Told(delivery, status == QUEUED, email, occurrence, (start, end)))
    return told
