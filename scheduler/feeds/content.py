"""What a feed holds: a customer's and a public product's feed over the horizon, rendered.

A customer's feed holds every subscribed product's occurrences as that customer sees them
(``local`` rules in its zone, its own changes applied); a product feed holds a public product's
product-wide occurrences (no ``local`` rules, no unplanned windows limited to some customers).
Both cover the horizon: 31 days back and 13 months ahead of today (UTC), cancelled ones left out.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.feeds.ical import CalendarInfo, FeedEvent, render_calendar
from scheduler.occurrences.schedule import occurrences
from scheduler.settings import Settings
from scheduler.store.models import Customer, Override, Product, Subscription, Unplanned, UnplannedCustomer, WindowRule
from scheduler.store.repository import data_version, get_customer, get_product
from windows.schedule import Scheduled

DAYS_BACK = 31
MONTHS_AHEAD = 13

log = logging.getLogger("maintcal.feeds")


@dataclass(frozen=True)
class RenderedFeed:
    """A rendered feed: the bytes and what HTTP says about them."""

    body: bytes
    etag: str  # strong: the quoted SHA-256 of the body
    last_modified: datetime  # aware UTC, whole seconds
    events: int
    filename: str
    truncated: int | None = None  # the events the window held when more than the cap: the first N are kept


# -- horizon ------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end.

    >>> add_months(date(2027, 1, 31), 13)
    datetime.date(2028, 2, 29)
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def horizon(now: datetime) -> tuple[datetime, datetime]:
    """[today - 31 days, today + 13 months) at 00:00Z, today being ``now``'s UTC date.

    >>> from windows.timezones import format_utc
    >>> [format_utc(t) for t in horizon(datetime(2027, 1, 4, 12, tzinfo=UTC))]
    ['2026-12-04T00:00:00Z', '2028-02-04T00:00:00Z']
    """
    today = now.astimezone(UTC).date()
    start = today - timedelta(days=DAYS_BACK)
    end = add_months(today, MONTHS_AHEAD)
    return utc_midnight(start), utc_midnight(end)


def utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# -- rendering ----------------------------------------------------------------------------------


def feed_events(
    session: Session, items: Sequence[Scheduled], settings: Settings, *, viewer_zone: str | None = None
) -> list[FeedEvent]:
    """The VEVENT data of ``items``: product names, rule labels, and DTSTAMP/LAST-MODIFIED from the
    rows behind each occurrence (product, rule, customer zone, overrides, unplanned row).

    ``viewer_zone`` (a customer's zone) adds the window in that zone to each description. Notices
    attach calendars built from these, so their UIDs, SEQUENCEs and stamps match the feed.
    """
    keys = {s.occurrence.product for s in items}
    if not keys:
        return []
    products = {p.key: p for p in session.scalars(select(Product).where(Product.key.in_(keys)))}
    by_id = {p.id: p.key for p in products.values()}
    rules = {
        (by_id[pid], name): (updated, label)
        for pid, name, updated, label in session.execute(
            select(WindowRule.product_id, WindowRule.name, WindowRule.updated_at, WindowRule.label).where(
                WindowRule.product_id.in_(by_id)
            )
        )
    }
    changed: dict[tuple[str, str | None], datetime] = {}
    last_reason: dict[tuple[str, str | None], tuple[int, str, str]] = {}  # the latest decision, action, reason
    for occurrence_id, customer_key, created, decision, action, why in session.execute(
        select(
            Override.occurrence_id,
            Customer.key,
            Override.created_at,
            Override.decision,
            Override.action,
            Override.reason,
        )
        .outerjoin(Customer, Customer.id == Override.customer_id)
        .where(Override.product_id.in_(by_id))
    ):
        key = (occurrence_id, customer_key)
        changed[key] = max(created, changed.get(key, created))
        if key not in last_reason or decision > last_reason[key][0]:
            last_reason[key] = (decision, action, why)
    unplanned = {
        f"{by_id[pid]}.unplanned-{number}": (updated, why)
        for pid, number, updated, why in session.execute(
            select(Unplanned.product_id, Unplanned.number, Unplanned.updated_at, Unplanned.reason).where(
                Unplanned.product_id.in_(by_id)
            )
        )
    }
    viewers = {s.customer for s in items if s.customer}
    customers = {
        key: updated
        for key, updated in session.execute(select(Customer.key, Customer.updated_at).where(Customer.key.in_(viewers)))
    }
    events = []
    for item in items:
        occ = item.occurrence
        product = products[occ.product]
        stamps = [product.updated_at]
        label: str | None = None
        reason: str | None = None
        if item.kind == "unplanned":
            updated, reason = unplanned[item.id]
            stamps.append(updated)
        else:
            rule_updated, label = rules[(occ.product, occ.rule)]
            stamps.append(rule_updated)
            if occ.customer:  # a 'local' rule: the customer's zone shapes the times
                stamps.append(customers[occ.customer])
            for viewer in {None, item.customer}:
                if (occ.base_id, viewer) in changed:
                    stamps.append(changed[(occ.base_id, viewer)])
            decided = [last_reason[(occ.base_id, v)] for v in {None, item.customer} if (occ.base_id, v) in last_reason]
            if decided:  # a cancel that no override made (a blackout, a retired window) has no ops reason
                _, action, said = max(decided)
                reason = said if (action == "cancel") == (item.status == "cancelled") else None
        url = None
        if settings.base_url and item.customer:  # a customer's feed: the window's page in its portal
            url = f"{settings.base_url}/portal/windows/{item.id}"
        elif settings.base_url and product.public:
            url = f"{settings.base_url}/products/{product.key}.ics"
        events.append(FeedEvent(item, product.name, max(stamps), label, url, viewer_zone, reason))
    return events


def _finish(
    session: Session,
    settings: Settings,
    items: list[Scheduled],
    info: CalendarInfo,
    filename: str,
    viewer_zone: str | None = None,
) -> RenderedFeed:
    total = len(items)
    truncated = None
    if total > settings.feed_max_events:  # items come sorted by start: keep the earliest
        items = items[: settings.feed_max_events]
        truncated = total
        log.warning(
            "feed %s holds %d events, more than MAINTCAL_FEED_MAX_EVENTS=%d: the earliest %d are kept",
            filename,
            total,
            settings.feed_max_events,
            settings.feed_max_events,
        )
    events = feed_events(session, items, settings, viewer_zone=viewer_zone)
    body = render_calendar(events, info, settings=settings)
    _, changed_at = data_version(session)
    modified = max([changed_at, *(e.modified for e in events)]).replace(microsecond=0)
    return RenderedFeed(body, etag_of(body), modified, len(events), filename, truncated)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest() + '"'


def customer_feed(
    session: Session, settings: Settings, customer_key: str, start: datetime, end: datetime
) -> RenderedFeed:
    """The feed of one customer over [start, end) (NotFound for an unknown customer)."""
    customer = get_customer(session, customer_key)
    names = list(
        session.scalars(
            select(Product.name).join(Subscription).where(Subscription.customer_id == customer.id).order_by(Product.key)
        )
    )
    items = occurrences(session, start, end, customer=customer.key)
    subscribed = ", ".join(names) if names else "no products yet"
    info = CalendarInfo(
        uid=f"feed:customer:{customer.key}@{settings.uid_domain}",
        name=f"{customer.name} maintenance windows",
        description=(
            f"Maintenance windows for {customer.name} ({subscribed}). "
            f"Each event shows its window in the product's time zone and in {customer.timezone}."
        ),
    )
    return _finish(session, settings, items, info, f"{customer.key}.ics", customer.timezone)


def product_feed(
    session: Session, settings: Settings, product_key: str, start: datetime, end: datetime
) -> RenderedFeed:
    """The product-wide feed of one product over [start, end). The server only serves public ones."""
    product = get_product(session, product_key)
    limited = {
        f"{product.key}.unplanned-{number}"
        for number in session.scalars(
            select(Unplanned.number).join(UnplannedCustomer).where(Unplanned.product_id == product.id).distinct()
        )
    }
    items = [
        s
        for s in occurrences(session, start, end, product=product.key)
        if s.occurrence.customer is None and s.id not in limited
    ]
    info = CalendarInfo(
        uid=f"feed:product:{product.key}@{settings.uid_domain}",
        name=f"{product.name} maintenance windows",
        description=f"Planned and unplanned maintenance windows of {product.name}.",
    )
    return _finish(session, settings, items, info, f"{product.key}.ics")
