"""What each portal page shows, for one customer, built on the services the API and CLI use.

Nothing here decides a rule: the schedule comes from ``occurrences``, requests from
``occurrences.reschedule`` (which checks the policy), availability from ``reports.sla_report``,
what was sent from the outbox records. Times are shown in the customer's zone with UTC beside.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.blackouts.effects import blackout_spec
from scheduler.occurrences.reschedule import RequestInfo, list_requests
from scheduler.occurrences.schedule import find_occurrence, occurrences
from scheduler.portal import strings as t
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer, Override, Product, Subscription, Unplanned
from scheduler.store.models_blackouts import ACTIVE, Blackout
from scheduler.store.models_outbox import SENT, SUPERSEDED, Delivery, DeliveryOccurrence, Notice
from scheduler.store.models_portal import RequestedBy
from scheduler.store.repository import data_version, get_customer, subscribed_product
from windows.blackouts import intervals
from windows.errors import MaintcalError
from windows.schedule import Scheduled
from windows.timezones import display_zone

HORIZON_DAYS = 396  # 13 months


# -- formatting -----------------------------------------------------------------------------------


def local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(display_zone(zone))


def fmt_day(day: date) -> str:
    """A day as people read it.

    >>> fmt_day(date(2027, 3, 28))
    'Sun 28 Mar 2027'
    """
    return f"{day:%a} {day.day} {day:%b %Y}"


def fmt_local(instant: datetime, zone: str) -> str:
    """An instant in a zone, with the zone's abbreviation.

    >>> fmt_local(datetime(2027, 3, 28, 1, 30, tzinfo=UTC), "Europe/London")
    'Sun 28 Mar 2027 02:30 BST'
    """
    moment = local(instant, zone)
    return f"{fmt_day(moment.date())} {moment:%H:%M %Z}"


def fmt_local_range(start: datetime, end: datetime, zone: str) -> str:
    """The end without its date when it is the same local day.

    >>> night = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    >>> fmt_local_range(night, night + timedelta(hours=2), "Europe/London")
    'Sun 28 Mar 2027 00:30 GMT – 03:30 BST'
    """
    a, b = local(start, zone), local(end, zone)
    tail = f"{b:%H:%M %Z}" if a.date() == b.date() else fmt_local(end, zone)
    return f"{fmt_local(start, zone)} – {tail}"


def fmt_utc_range(start: datetime, end: datetime) -> str:
    """An interval in UTC; the end without its date on the same day.

    >>> fmt_utc_range(datetime(2027, 3, 28, 0, 30, tzinfo=UTC), datetime(2027, 3, 29, 2, 30, tzinfo=UTC))
    '2027-03-28 00:30 – 2027-03-29 02:30 UTC'
    """
    a, b = start.astimezone(UTC), end.astimezone(UTC)
    tail = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%Y-%m-%d %H:%M}"
    return f"{a:%Y-%m-%d %H:%M} – {tail} UTC"


def iso_z(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- upcoming -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowRow:
    id: str
    product: str
    product_name: str
    kind: str  # planned | unplanned
    status: str  # scheduled | moved | cancelled
    start: datetime
    end: datetime
    when_local: str
    when_utc: str
    local_day: date
    moved_from: str | None
    announced: str
    blackout: str | None = None  # the label of the customer's blackout that cancelled or moved it

    @property
    def start_z(self) -> str:
        return iso_z(self.start)

    @property
    def end_z(self) -> str:
        return iso_z(self.end)

    @property
    def status_text(self) -> str:
        because = f" {t.BECAUSE_OF_BLACKOUT.format(label=self.blackout)}" if self.blackout else ""
        if self.status == "cancelled":
            return t.STATUS_CANCELLED + because
        if self.moved_from is not None:
            return t.STATUS_MOVED.format(when=self.moved_from) + because
        return t.STATUS_SCHEDULED


@dataclass(frozen=True)
class Week:
    label: str
    windows: list[WindowRow] = field(default_factory=list)


def product_names(session: Session, cust: Customer) -> dict[str, str]:
    rows = session.execute(
        select(Product.key, Product.name).join(Subscription).where(Subscription.customer_id == cust.id)
    )
    return {key: name for key, name in rows}


def announcements(session: Session, cust: Customer, items: list[Scheduled]) -> dict[str, tuple[datetime, int]]:
    """For each occurrence: when it was first told, at its current times, and to how many contacts."""
    if not items:
        return {}
    lo, hi = min(s.start for s in items), max(s.end for s in items)
    current = {s.id: (s.start, s.end) for s in items}
    rows = session.execute(
        select(
            DeliveryOccurrence.occurrence_id,
            DeliveryOccurrence.start,
            DeliveryOccurrence.end,
            Delivery.email,
            Delivery.sent_at,
        )
        .join(Delivery, Delivery.id == DeliveryOccurrence.delivery_id)
        .where(
            DeliveryOccurrence.customer_id == cust.id,
            Delivery.status == SENT,
            DeliveryOccurrence.start < hi,
            DeliveryOccurrence.end > lo,
        )
    )
    first: dict[str, datetime] = {}
    told: dict[str, set[str]] = defaultdict(set)
    for occurrence_id, start, end, email, sent_at in rows:
        if current.get(occurrence_id) != (start, end) or sent_at is None:
            continue
        told[occurrence_id].add(email.lower())
        first[occurrence_id] = min(first.get(occurrence_id, sent_at), sent_at)
    return {k: (first[k], len(v)) for k, v in told.items()}


def window_rows(session: Session, cust: Customer, items: list[Scheduled]) -> list[WindowRow]:
    names = product_names(session, cust)
    told = announcements(session, cust, items)
    because = blackout_labels(session, cust, items)
    zone = cust.timezone
    rows = []
    for s in items:
        moved = s.status == "moved" or (s.kind == "planned" and s.start != s.occurrence.start)
        announced = t.NOT_ANNOUNCED
        if s.id in told:
            when, count = told[s.id]
            day = fmt_day(local(when, zone).date())
            announced = t.ANNOUNCED_ONE.format(day=day) if count == 1 else t.ANNOUNCED.format(day=day, count=count)
        rows.append(
            WindowRow(
                id=s.id,
                product=s.occurrence.product,
                product_name=names.get(s.occurrence.product, s.occurrence.product),
                kind=s.kind,
                status=s.status,
                start=s.start,
                end=s.end,
                when_local=fmt_local_range(s.start, s.end, zone),
                when_utc=fmt_utc_range(s.start, s.end),
                local_day=local(s.start, zone).date(),
                moved_from=fmt_local(s.occurrence.start, zone) if moved and s.status != "cancelled" else None,
                announced=announced,
                blackout=because.get(s.id),
            )
        )
    return rows


def blackout_labels(session: Session, cust: Customer, items: list[Scheduled]) -> dict[str, str]:
    """For each of the customer's own (``local``) occurrences that is cancelled or moved: the
    label of its active blackout that the planned time falls in (occurrence id -> label)."""
    touched = [s for s in items if s.occurrence.customer and s.status in ("cancelled", "moved")]
    if not touched:
        return {}
    active = session.scalars(
        select(Blackout).where(Blackout.customer_id == cust.id, Blackout.status == ACTIVE).order_by(Blackout.id)
    ).all()
    found: dict[str, str] = {}
    for s in touched:
        o = s.occurrence
        label = next((b.label for b in active if intervals(blackout_spec(b), cust.timezone, o.start, o.end)), None)
        if label is not None:
            found[s.id] = label
    return found


class RowCache:
    """The rows of a customer's upcoming page for one UTC day, kept while nothing they show changed.

    The key holds the data version (bumped by every change that can alter a schedule, as for the
    feed cache) and what the outbox has sent to the customer (the proof of notice); a few hundred
    entries at most, the oldest dropped first.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._rows: dict[tuple[object, ...], list[WindowRow]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> list[WindowRow] | None:
        with self._lock:
            return self._rows.get(key)

    def put(self, key: tuple[object, ...], rows: list[WindowRow]) -> None:
        with self._lock:
            if len(self._rows) >= self.size:
                self._rows.pop(next(iter(self._rows)))
            self._rows[key] = rows


def upcoming(
    db: Database, now: datetime, customer: str, cache: RowCache | None = None
) -> tuple[list[Week], tuple[object, ...]]:
    """The next 13 months of the customer's windows (cancelled ones too), grouped by local week,
    and a key that changes whenever they would (for caching what is made of them)."""
    day = now.astimezone(UTC).date()
    with db.transaction() as session:
        cust = get_customer(session, customer)
        version, _ = data_version(session)
        sent = session.execute(
            select(func.count(Delivery.id), func.max(Delivery.sent_at))
            .join(Notice, Notice.id == Delivery.notice_id)
            .where(Notice.customer_id == cust.id, Delivery.status == SENT)
        ).one()
        key = (customer, version, day, sent[0], sent[1])
        rows = cache.get(key) if cache is not None else None
        if rows is None:
            lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
            hi = lo + timedelta(days=HORIZON_DAYS + 1)
            rows = window_rows(session, cust, occurrences(session, lo, hi, customer=customer, include_cancelled=True))
            if cache is not None:
                cache.put(key, rows)
    end = now + timedelta(days=HORIZON_DAYS)
    weeks: dict[date, Week] = {}
    shown = [i for i, row in enumerate(rows) if row.end > now and row.start < end]
    for row in (rows[i] for i in shown):
        monday = row.local_day - timedelta(days=row.local_day.weekday())
        weeks.setdefault(monday, Week(t.WEEK_OF.format(day=fmt_day(monday)))).windows.append(row)
    return [weeks[k] for k in sorted(weeks)], (*key, tuple(shown[:1] + shown[-1:]))


def month_rows(db: Database, customer: str, first: date) -> tuple[list[WindowRow], str]:
    """The customer's windows starting in one local calendar month, and the zone name."""
    with db.transaction() as session:
        cust = get_customer(session, customer)
        zone = display_zone(cust.timezone)
        nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        lo = datetime(first.year, first.month, first.day, tzinfo=zone).astimezone(UTC) - timedelta(days=1)
        hi = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone).astimezone(UTC) + timedelta(days=1)
        items = occurrences(session, lo, hi, customer=customer, include_cancelled=True)
        rows = [r for r in window_rows(session, cust, items) if r.local_day.replace(day=1) == first]
        return rows, cust.timezone


# -- one window -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentNotice:
    kind: str
    text: str


@dataclass(frozen=True)
class WindowPage:
    row: WindowRow
    scheduled: Scheduled
    history: list[str]
    notices: list[SentNotice]
    requests: list[RequestInfo]
    cutoff_hours: int
    max_shift_days: int


def find_window(session: Session, cust: Customer, occurrence_id: str) -> Scheduled | None:
    """The occurrence as the customer sees it, only in a product it subscribes to; else None."""
    if len(occurrence_id) > 200 or subscribed_product(session, cust, occurrence_id.split(".")[0]) is None:
        return None
    try:
        return find_occurrence(session, occurrence_id, cust.key)
    except MaintcalError:
        return None


def window_page(db: Database, customer: str, occurrence_id: str) -> WindowPage | None:
    with db.transaction() as session:
        cust = get_customer(session, customer)
        found = find_window(session, cust, occurrence_id)
        if found is None:
            return None
        product = subscribed_product(session, cust, found.occurrence.product)
        assert product is not None
        row = window_rows(session, cust, [found])[0]
        history = _history(session, cust, product, found)
        notices = _notices(session, cust, found.id)
        cutoff, shift = product.reschedule_cutoff_hours, product.reschedule_max_shift_days
    mine = [r for r in list_requests(db, customer=customer) if r.occurrence == occurrence_id]
    return WindowPage(row, found, history, notices, mine, cutoff, shift)


def _history(session: Session, cust: Customer, product: Product, s: Scheduled) -> list[str]:
    zone = cust.timezone
    if s.kind == "unplanned":
        number = int(s.id.rsplit("-", 1)[1])
        row = session.scalar(select(Unplanned).where(Unplanned.product_id == product.id, Unplanned.number == number))
        return [t.HISTORY_UNPLANNED.format(reason=row.reason if row else "")]
    lines = [t.HISTORY_CREATED.format(rule=s.occurrence.rule)]
    overrides = session.scalars(
        select(Override)
        .where(
            Override.product_id == product.id,
            Override.occurrence_id == s.occurrence.base_id,
            (Override.customer_id.is_(None)) | (Override.customer_id == cust.id),
        )
        .order_by(Override.decision)
    )
    for o in overrides:
        stamp = fmt_local(o.created_at, zone)
        if o.action == "move" and o.new_start is not None:
            text = t.HISTORY_MOVED.format(start=fmt_local(o.new_start, zone), reason=o.reason)
        else:
            text = t.HISTORY_CANCELLED.format(reason=o.reason)
        lines.append(f"{stamp}: {text}")
    return lines


def _notices(session: Session, cust: Customer, occurrence_id: str) -> list[SentNotice]:
    rows = session.execute(
        select(Notice.id, Notice.kind, Delivery.email, Delivery.status, Delivery.sent_at, Delivery.created_at)
        .join(Delivery, Delivery.notice_id == Notice.id)
        .join(DeliveryOccurrence, DeliveryOccurrence.delivery_id == Delivery.id)
        .where(
            DeliveryOccurrence.customer_id == cust.id,
            DeliveryOccurrence.occurrence_id == occurrence_id,
            Delivery.status != SUPERSEDED,
        )
        .order_by(Notice.id, Delivery.id)
    ).all()
    grouped: dict[int, list[tuple[str, str, str, datetime | None, datetime]]] = defaultdict(list)
    for notice_id, kind, email, status, sent_at, created_at in rows:
        grouped[notice_id].append((kind, email, status, sent_at, created_at))
    result = []
    for entries in grouped.values():
        kind = entries[0][0]
        sent = [e for e in entries if e[2] == SENT and e[3] is not None]
        if sent:
            when = min(e[3] for e in sent if e[3] is not None)
            text = t.NOTICE_ROW.format(
                kind=kind, when=fmt_local(when, cust.timezone), recipients=", ".join(e[1] for e in sent)
            )
        else:
            text = t.NOTICE_QUEUED.format(
                kind=kind, when=fmt_local(entries[0][4], cust.timezone), recipients=", ".join(e[1] for e in entries)
            )
        result.append(SentNotice(kind, text))
    return result


# -- requests and contacts ------------------------------------------------------------------------


def requesters(db: Database, ids: list[int]) -> dict[int, str]:
    """Who asked for each request made through the portal (request id -> address)."""
    if not ids:
        return {}
    with db.transaction() as session:
        rows = session.execute(
            select(RequestedBy.request_id, Contact.email)
            .join(Contact, Contact.id == RequestedBy.contact_id)
            .where(RequestedBy.request_id.in_(ids))
        )
        return {request_id: email for request_id, email in rows}


def contacts(db: Database, now: datetime, customer: str) -> list[str]:
    with db.transaction() as session:
        cust = get_customer(session, customer)
        return [c.email for c in cust.contacts if c.active_at(now)]


def subscribed_products(db: Database, customer: str) -> list[tuple[str, str]]:
    with db.transaction() as session:
        cust = get_customer(session, customer)
        return sorted(product_names(session, cust).items())
