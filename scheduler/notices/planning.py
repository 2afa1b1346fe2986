"""The planning run (DESIGN §3): one digest per contact announcing what entered the horizon.

Every customer's view is read at once, compared with what its contacts were already told, and the
new digests are written with ``enqueue.write_notices`` in the run's one transaction; unsent notices
whose times have changed are superseded. Nothing is sent here: the worker sends them later.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from notifications.addresses import address_problem
from notifications.content import ANNOUNCE, PUBLISH
from scheduler.notices.enqueue import write_notices
from scheduler.notices.supersede import supersede
from scheduler.occurrences.reader import ScheduleReader
from scheduler.occurrences.schedule import occurrences
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer, Override, Product, Subscription
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


def plan_notices(db: Database, now: datetime, settings: Settings, dry_run: bool = False) -> PlanResult:
    """Queue one digest per contact announcing what entered the horizon; safe to run again.

    Every customer's view is read at ``now``: the planned, not cancelled occurrences that start
    within ``notice_days + lead_days`` and that a contact has not been told about at their current
    times are announced to that contact. Two runs at once: the unique key on delivery_occurrences
    makes the later commit fail, and it is re-planned against what the first one wrote.
    """
    for attempt in range(3):
        try:
            with db.transaction() as session:
                return _plan(session, now, settings, dry_run)
        except (IntegrityError, OperationalError) as error:
            # Another run committed first (unique key), or on SQLite wrote since this one began reading.
            retry = isinstance(error, IntegrityError) or "locked" in str(error.orig)
            if attempt == 2 or not retry:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _plan(session: Session, now: datetime, settings: Settings, dry_run: bool) -> PlanResult:
    products = {p.key: p for p in session.scalars(select(Product))}
    if not products:
        return PlanResult([], dry_run)
    notice_days = {key: p.notice_days for key, p in products.items()}
    end = horizon_end(now, max(notice_days.values()), settings.lead_days)
    views = _Views(session, now, end, products)
    told = _told(session, now)
    customers = session.scalars(select(Customer).options(selectinload(Customer.contacts)).order_by(Customer.key))
    planned: list[PlannedDigest] = []
    batches: list[tuple[Customer, list[tuple[Contact, tuple[Scheduled, ...]]]]] = []
    stale: set[int] = set()
    for customer in customers:
        items = views.of(customer)
        # An unsent notice giving times that have changed since is never sent (DESIGN §3).
        current = {s.id: (s.start, s.end) for s in items}
        outdated = {t.delivery for t in told[customer.id] if t.queued and current.get(t.occurrence, t.times) != t.times}
        stale |= outdated
        active = {c.email: c for c in customer.contacts if c.active_at(now)}
        due = due_for_announcement(items, now, notice_days, settings.lead_days) if active else []
        if not due:
            continue
        covered = {t.key for t in told[customer.id] if t.delivery not in outdated}
        digests = plan_digests(due, active, covered)
        if digests:
            batches.append((customer, [(active[d.email], d.items) for d in digests]))
            planned.extend(
                PlannedDigest(customer.key, d.email, tuple(s.id for s in d.items), address_problem(d.email))
                for d in digests
            )
    if not dry_run:
        supersede(session, now, stale)
        if batches:
            names = {key: p.name for key, p in products.items()}
            write_notices(session, now, settings, ANNOUNCE, None, batches, names)
    return PlanResult(planned, dry_run)


class _Views:
    """Every customer's view of [now, end), read with one product-wide query per product.

    A customer sees a product's non-local occurrences exactly as the product-wide view shows them,
    unless it has changes of its own on that product: only then is its view read separately.
    Occurrences of ``local`` rules are per customer in the product-wide view already.
    """

    def __init__(self, session: Session, now: datetime, end: datetime, products: dict[str, Product]) -> None:
        self.session, self.now, self.end = session, now, end
        self.reader = ScheduleReader(session)
        self.key_of = {p.id: key for key, p in products.items()}
        self.subscriptions: dict[int, list[str]] = defaultdict(list)
        for customer_id, product_id in session.execute(
            select(Subscription.customer_id, Subscription.product_id).order_by(Subscription.product_id)
        ):
            self.subscriptions[customer_id].append(self.key_of[product_id])
        self.own_changes = {
            (customer_id, self.key_of[product_id])
            for product_id, customer_id in session.execute(
                select(Override.product_id, Override.customer_id).where(Override.customer_id.is_not(None)).distinct()
            )
        }
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

    def of(self, customer: Customer) -> list[Scheduled]:
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


def _told(session: Session, now: datetime) -> dict[int, list[_Told]]:
    """Per customer, what its contacts were told (or are about to be) about windows not yet over."""
    rows = session.execute(
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
        .where(DeliveryOccurrence.method == PUBLISH, DeliveryOccurrence.end > now, Delivery.status != SUPERSEDED)
    )
    told: dict[int, list[_Told]] = defaultdict(list)
    for customer_id, delivery, status, email, occurrence, start, end in rows:
        told[customer_id].append(_Told(delivery, status == QUEUED, email, occurrence, (start, end)))
    return told
