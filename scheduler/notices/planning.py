"""Queuing notices: the planning run's digests and the immediate notices of changes (DESIGN §3).

Nothing is sent here. Each function writes notices and deliveries (with their final MIME bytes) in
one transaction, the caller's for changes, so a change and the notice it causes are committed
together or not at all. ``scheduler.notices.outbox`` and the worker send them later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from notifications.addresses import address_problem
from notifications.content import ANNOUNCE, CHANGE_KINDS, PUBLISH, Entry, Notice, method_for
from notifications.message import Rendered, build_message, message_id, render
from scheduler.feeds.ical import CalendarInfo, FeedEvent, render_calendar
from scheduler.notices import outbox
from scheduler.notices.outbox import DeliveryInfo
from scheduler.occurrences.schedule import occurrences
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer, Override, Product, Subscription
from scheduler.store.models_outbox import FAILED, QUEUED, SUPERSEDED, Delivery, DeliveryOccurrence
from scheduler.store.models_outbox import Notice as NoticeRow
from scheduler.store.repository import get_customer
from windows.errors import InvalidInput
from windows.notice import CoverKey, due_for_announcement, horizon_end, plan_digests
from windows.schedule import Scheduled

_FLUSH_EVERY = 500


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
        outbox.supersede(session, now, stale)
        if batches:
            names = {key: p.name for key, p in products.items()}
            _queue(session, now, settings, ANNOUNCE, None, batches, names)
    return PlanResult(planned, dry_run)


class _Views:
    """Every customer's view of [now, end), read with one product-wide query per product.

    A customer sees a product's non-local occurrences exactly as the product-wide view shows them,
    unless it has changes of its own on that product: only then is its view read separately.
    Occurrences of ``local`` rules are per customer in the product-wide view already.
    """

    def __init__(self, session: Session, now: datetime, end: datetime, products: dict[str, Product]) -> None:
        self.session, self.now, self.end = session, now, end
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
            for item in occurrences(session, now, end, product=key):
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
                items.extend(occurrences(self.session, self.now, self.end, product=key, customer=customer.key))
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


def enqueue_change_notices(
    session: Session, now: datetime, settings: Settings, items: list[Scheduled], kind: str, note: str | None = None
) -> int:
    """Queue an immediate notice about ``items`` to the current contacts of each item's customer.

    Runs inside the caller's transaction. ``items`` are occurrences in customers' views (customer
    set); ``kind``: update, cancel, unplanned, reschedule-approved or reschedule-rejected. A cancel
    carries METHOD:CANCEL, the others METHOD:PUBLISH with each item's current start, end and
    sequence. One notice per customer lists all of that customer's items. Unsent notices that give
    these occurrences other times (any time, for a cancel) are superseded: never sent. Returns the
    number of deliveries queued (a customer without contacts gets none; compliance reports it). A
    contact whose address cannot be used gets a failed delivery instead, not counted.
    The current contacts are those not removed, whatever the clocks of the processes that nominated
    them and of this one say.
    """
    if kind not in CHANGE_KINDS:
        raise InvalidInput(f"unknown change notice kind '{kind}' (use one of: {', '.join(CHANGE_KINDS)})")
    by_customer: dict[str, list[Scheduled]] = defaultdict(list)
    for item in items:
        if item.customer is None:
            raise ValueError(f"occurrence {item.id} is not in a customer's view")
        by_customer[item.customer].append(item)
    batches = []
    for key in sorted(by_customer):
        customer = get_customer(session, key)
        # The contacts as committed (not removed), not as a clock sees them: a decision taken on a
        # host whose clock is behind the one that nominated a contact still tells that contact.
        contacts = sorted((c for c in customer.contacts if c.removed_at is None), key=lambda c: c.email)
        group = tuple(sorted(by_customer[key], key=lambda s: (s.start, s.id)))
        outbox.supersede(session, now, outbox.outdated_by(session, customer.id, group, cancel=kind == "cancel"))
        if contacts:
            batches.append((customer, [(c, group) for c in contacts]))
    if not batches:
        return 0
    product_keys = {s.occurrence.product for s in items}
    names = dict(session.execute(select(Product.key, Product.name).where(Product.key.in_(product_keys))).all())
    return _queue(session, now, settings, kind, note, batches, names)


def _queue(
    session: Session,
    now: datetime,
    settings: Settings,
    kind: str,
    note: str | None,
    batches: Sequence[tuple[Customer, Sequence[tuple[Contact, tuple[Scheduled, ...]]]]],
    product_names: dict[str, str],
) -> int:
    """Write one notice per customer and one delivery (bytes made now) per contact, in bulk."""
    method = method_for(kind)
    notice_ids = session.scalars(
        insert(NoticeRow).returning(NoticeRow.id, sort_by_parameter_order=True),
        [{"kind": kind, "method": method, "customer_id": c.id, "note": note, "created_at": now} for c, _ in batches],
    ).all()
    queued = 0
    pending: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for notice_id, (customer, digests) in zip(notice_ids, batches, strict=True):
        rendered: dict[tuple[str, ...], Rendered] = {}  # contacts told the same things share a rendering
        for contact, items in digests:
            cache_key = tuple(f"{s.id}/{s.start}/{s.end}/{s.sequence}" for s in items)
            if cache_key not in rendered:
                content = _content(customer, items, kind, note, now, settings, product_names)
                ics = _attachment(customer, items, method, now, settings, product_names)
                rendered[cache_key] = render(content, sender=settings.mail_from, ics=ics)
            mid = message_id(settings.uid_domain, now, notice_id, contact.id)
            mime, problem = _message(rendered[cache_key], settings, contact.email, mid, now)
            delivery = {
                "notice_id": notice_id,
                "contact_id": contact.id,
                "email": contact.email,
                "message_id": mid,
                "mime": mime,
                "status": QUEUED if problem is None else FAILED,
                "attempts": 0,
                "next_attempt_at": now,
                "uncertain": False,
                "deadline": _deadline(items, kind, now),
                "created_at": now,
                "failed_at": None if problem is None else now,
                "last_error": None if problem is None else f"not sent: {problem}",
            }
            covers = [
                {
                    "customer_id": customer.id,
                    "occurrence_id": s.id,
                    "product_key": s.occurrence.product,
                    "start": s.start,
                    "end": s.end,
                    "sequence": s.sequence,
                    "method": method,
                    "announced_to": contact.email if kind == ANNOUNCE else None,
                }
                for s in items
            ]
            pending.append((delivery, covers))
            if len(pending) == _FLUSH_EVERY:
                queued += _insert(session, pending)
                pending = []
    return queued + _insert(session, pending)


def _message(rendered: Rendered, settings: Settings, to: str, mid: str, now: datetime) -> tuple[bytes, str | None]:
    """The MIME bytes for one contact, or why there are none: a recipient stored before addresses
    were checked (or checked less strictly) fails for that contact alone, never for the others."""
    problem = address_problem(to)
    if problem is None:
        try:
            return build_message(rendered, sender=settings.mail_from, recipient=to, message_id=mid, date=now), None
        except InvalidInput as error:
            problem = error.message
    return b"", problem


def _insert(session: Session, pending: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> int:
    if not pending:
        return 0
    ids = session.scalars(
        insert(Delivery).returning(Delivery.id, sort_by_parameter_order=True), [d for d, _ in pending]
    ).all()
    queued = sum(1 for d, _ in pending if d["status"] == QUEUED)
    covers = [
        cover | {"delivery_id": delivery_id}
        for delivery_id, (_, rows) in zip(ids, pending, strict=True)
        for cover in rows
    ]
    session.execute(insert(DeliveryOccurrence), covers)
    return queued


def _content(
    customer: Customer,
    items: Iterable[Scheduled],
    kind: str,
    note: str | None,
    now: datetime,
    settings: Settings,
    product_names: dict[str, str],
) -> Notice:
    entries = tuple(
        Entry(
            uid=f"{s.id}@{settings.uid_domain}",
            occurrence_id=s.id,
            product=s.occurrence.product,
            product_name=product_names.get(s.occurrence.product, s.occurrence.product),
            start=s.start,
            end=s.end,
            zone=customer.timezone,
            sequence=s.sequence,
            status=s.status,
            kind=s.kind,
            window_zone=s.timezone,
        )
        for s in items
    )
    return Notice(kind, customer.key, customer.name, customer.timezone, entries, now, note)


def _attachment(
    customer: Customer,
    items: Sequence[Scheduled],
    method: str,
    now: datetime,
    settings: Settings,
    product_names: dict[str, str],
) -> bytes:
    """The .ics rendered exactly as the feed renders these events (same UIDs, SEQUENCEs, text)."""
    events = [
        FeedEvent(s, product_names.get(s.occurrence.product, s.occurrence.product), now, viewer_zone=customer.timezone)
        for s in items
    ]
    info = CalendarInfo(
        uid=f"notice-{customer.key}@{settings.uid_domain}",
        name=f"{customer.name} maintenance",
        description=f"Maintenance notice for {customer.name}",
        method=method,
    )
    return render_calendar(events, info, settings=settings)


def _deadline(items: Iterable[Scheduled], kind: str, now: datetime) -> datetime | None:
    """The earliest deadline this delivery can still meet (None when none is ahead)."""
    if kind == "cancel":
        return None
    deadlines = [
        s.notice_deadline
        for s in items
        if s.notice_deadline is not None
        and s.notice_deadline >= now
        and s.kind == "planned"
        and s.status != "cancelled"
        and not s.waived
    ]
    return min(deadlines, default=None)


@dataclass(frozen=True)
class OutboxStatus:
    counts: dict[str, int]
    due_now: int
    next_attempt_at: datetime | None
    uncertain: int
    at_risk: list[DeliveryInfo]
    failed: list[DeliveryInfo]


def notices_status(db: Database, now: datetime, settings: Settings) -> OutboxStatus:
    """The outbox at ``now``: counts, what is due, deliveries at risk of missing their deadline, failures."""
    with db.transaction() as session:
        due_now, later = outbox.next_due(session, now)
        uncertain = session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.uncertain.is_(True), Delivery.status != "sent")
        )
        return OutboxStatus(
            counts=outbox.counts(session),
            due_now=due_now,
            next_attempt_at=later,
            uncertain=int(uncertain or 0),
            at_risk=outbox.at_risk(session, now, timedelta(hours=settings.deadline_warning_hours)),
            failed=outbox.failed(session),
        )
