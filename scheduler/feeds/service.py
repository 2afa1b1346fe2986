"""Calendar feeds: what a customer's and a public product's feed hold, feed tokens, the feed cache.

A customer's feed holds every subscribed product's occurrences as that customer sees them
(``local`` rules in its zone, its own changes applied); a product feed holds a public product's
product-wide occurrences (no ``local`` rules, no unplanned windows limited to some customers).
Both cover the horizon: 31 days back and 13 months ahead of today (UTC), cancelled ones left out.

Secret feed tokens have 256 bits of entropy and are stored only as SHA-256 hashes; a customer has
at most one active token, and issuing a new one revokes the old.

``FeedService`` serves feeds from a cache keyed by (feed, data version, horizon day). The data
version is read from the database on every request (``repository.bump_version`` raises it with
every change that can alter a feed), so several server processes over one database never serve
a stale feed, and a poll that finds its feed cached costs one small query.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from scheduler.feeds.ical import CalendarInfo, FeedEvent, render_calendar
from scheduler.occurrences.schedule import occurrences
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import (
    Customer,
    DataVersion,
    FeedToken,
    Override,
    Product,
    Subscription,
    Unplanned,
    UnplannedCustomer,
    WindowRule,
)
from scheduler.store.repository import data_version, get_customer, get_product
from windows.errors import Conflict, InvalidInput
from windows.schedule import Scheduled
from windows.timezones import format_utc

DAYS_BACK = 31
MONTHS_AHEAD = 13
CACHE_BYTES = 128 * 2**20


@dataclass(frozen=True)
class RenderedFeed:
    """A rendered feed: the bytes and what HTTP says about them."""

    body: bytes
    etag: str  # strong: the quoted SHA-256 of the body
    last_modified: datetime  # aware UTC, whole seconds
    events: int
    filename: str


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

    >>> [format_utc(t) for t in horizon(datetime(2027, 1, 4, 12, tzinfo=UTC))]
    ['2026-12-04T00:00:00Z', '2028-02-04T00:00:00Z']
    """
    today = now.astimezone(UTC).date()
    start = today - timedelta(days=DAYS_BACK)
    end = add_months(today, MONTHS_AHEAD)
    return _midnight(start), _midnight(end)


def _midnight(day: date) -> datetime:
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
    for occurrence_id, customer_key, created in session.execute(
        select(Override.occurrence_id, Customer.key, Override.created_at)
        .outerjoin(Customer, Customer.id == Override.customer_id)
        .where(Override.product_id.in_(by_id))
    ):
        key = (occurrence_id, customer_key)
        changed[key] = max(created, changed.get(key, created))
    unplanned = {
        f"{by_id[pid]}.unplanned-{number}": updated
        for pid, number, updated in session.execute(
            select(Unplanned.product_id, Unplanned.number, Unplanned.updated_at).where(Unplanned.product_id.in_(by_id))
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
        label = None
        if item.kind == "unplanned":
            stamps.append(unplanned[item.id])
        else:
            rule_updated, label = rules[(occ.product, occ.rule)]
            stamps.append(rule_updated)
            if occ.customer:  # a 'local' rule: the customer's zone shapes the times
                stamps.append(customers[occ.customer])
            for viewer in {None, item.customer}:
                if (occ.base_id, viewer) in changed:
                    stamps.append(changed[(occ.base_id, viewer)])
        url = f"{settings.base_url}/products/{product.key}.ics" if settings.base_url and product.public else None
        events.append(FeedEvent(item, product.name, max(stamps), label, url, viewer_zone))
    return events


def _finish(
    session: Session,
    settings: Settings,
    items: list[Scheduled],
    info: CalendarInfo,
    filename: str,
    viewer_zone: str | None = None,
) -> RenderedFeed:
    events = feed_events(session, items, settings, viewer_zone=viewer_zone)
    body = render_calendar(events, info, settings=settings)
    _, changed_at = data_version(session)
    modified = max([changed_at, *(e.modified for e in events)]).replace(microsecond=0)
    return RenderedFeed(body, etag_of(body), modified, len(events), filename)


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


# -- tokens -------------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_feed_token(db: Database, now: datetime, customer_key: str, *, rotate: bool = False) -> str:
    """A new secret feed token for the customer; any older token stops working.

    Without ``rotate``, a customer that already has an active token is refused: the token is
    stored only as a hash, so it cannot be shown again.
    """
    with db.transaction() as session:
        customer = get_customer(session, customer_key)
        session.scalar(select(Customer.id).where(Customer.id == customer.id).with_for_update())
        active = session.scalars(
            select(FeedToken).where(FeedToken.customer_id == customer.id, FeedToken.revoked_at.is_(None))
        ).first()
        if active is not None and not rotate:
            raise Conflict(
                f"customer '{customer_key}' already has a feed URL (issued {format_utc(active.created_at)}); "
                "it is stored only as a hash and cannot be shown again: use --rotate to issue a new one "
                "(the old URL stops working)"
            )
        session.execute(
            update(FeedToken)
            .where(FeedToken.customer_id == customer.id, FeedToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        token = secrets.token_urlsafe(32)
        session.add(FeedToken(customer_id=customer.id, token_hash=hash_token(token), created_at=now))
    return token


def revoke_feed_token(db: Database, now: datetime, customer_key: str) -> bool:
    """Revoke the customer's feed token without issuing a new one; False when none was active.

    From now on the old URL gets the same 404 as an unknown one; ``issue_feed_token`` (``feed-url``,
    with or without ``--rotate``) issues a new one later.
    """
    with db.transaction() as session:
        customer = get_customer(session, customer_key)
        session.scalar(select(Customer.id).where(Customer.id == customer.id).with_for_update())
        revoked = session.scalars(
            update(FeedToken)
            .where(FeedToken.customer_id == customer.id, FeedToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(FeedToken.id)
        ).all()
        return bool(revoked)


def check_base_url(settings: Settings) -> str:
    """The configured base URL, refused unless it is an absolute http(s) URL."""
    base = settings.base_url.rstrip("/")
    scheme, _, rest = base.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith("/") or any(c in base for c in " \t\r\n"):
        raise InvalidInput(
            f"MAINTCAL_BASE_URL={settings.base_url!r} must be an absolute URL like https://cal.example.com"
        )
    return base


def feed_urls(settings: Settings, token: str) -> tuple[str, str]:
    """The feed URL under the configured base URL, and the same as a webcal:// URL.

    >>> feed_urls(Settings(base_url="https://cal.example.com/maint"), "T0KEN")
    ('https://cal.example.com/maint/feeds/T0KEN.ics', 'webcal://cal.example.com/maint/feeds/T0KEN.ics')
    """
    base = check_base_url(settings)
    _, _, rest = base.partition("://")
    return f"{base}/feeds/{token}.ics", f"webcal://{rest}/feeds/{token}.ics"


# -- serving ------------------------------------------------------------------------------------


class FeedCache:
    """Rendered feeds in memory, bounded in bytes, least recently used first out.

    Keys are (kind, feed id, data version, horizon day); putting a feed drops its older versions.
    """

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Hashable, ...], RenderedFeed] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._renders: dict[tuple[Hashable, ...], threading.Lock] = {}

    def get(self, key: tuple[Hashable, ...]) -> RenderedFeed | None:
        with self._lock:
            feed = self._items.get(key)
            if feed is not None:
                self._items.move_to_end(key)
            return feed

    def put(self, key: tuple[Hashable, ...], feed: RenderedFeed) -> None:
        if len(feed.body) > self.max_bytes:
            return
        with self._lock:
            for old in [k for k in self._items if k[:2] == key[:2]]:
                self._size -= len(self._items.pop(old).body)
            self._items[key] = feed
            self._size += len(feed.body)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped.body)

    def render_lock(self, key: tuple[Hashable, ...]) -> threading.Lock:
        """One lock per feed, so concurrent misses render it once."""
        with self._lock:
            return self._renders.setdefault(key[:2], threading.Lock())

    def __len__(self) -> int:
        return len(self._items)


# Built once: every poll runs one of these, with the data version, in a single small query.
_BY_TOKEN = (
    select(Customer.id, Customer.key, DataVersion.version)
    .join(FeedToken, FeedToken.customer_id == Customer.id)
    .join(DataVersion, DataVersion.id == 1)
    .where(FeedToken.token_hash == bindparam("digest"), FeedToken.revoked_at.is_(None))
)
_BY_PRODUCT = (
    select(Product.id, Product.key, DataVersion.version)
    .join(DataVersion, DataVersion.id == 1)
    .where(Product.key == bindparam("key"), Product.public.is_(True))
)


class FeedService:
    """Feeds as the server serves them: looked up by token or public product key, cached."""

    def __init__(self, db: Database, settings: Settings, cache: FeedCache | None = None) -> None:
        self.db = db
        self.settings = settings
        self.cache = cache or FeedCache()

    def by_token(self, token: str, now: datetime) -> RenderedFeed | None:
        """The feed of the customer holding ``token``; None for any unknown, malformed or revoked token."""
        digest = hash_token(token)
        with self.db.engine.connect() as connection:  # a plain read: no ORM session on the hot path
            row = connection.execute(_BY_TOKEN, {"digest": digest}).first()
        if row is None:
            return None
        customer_id, key, version = row
        return self._serve(
            ("customer", customer_id), version, now, lambda s, a, b: customer_feed(s, self.settings, key, a, b)
        )

    def by_product(self, key: str, now: datetime) -> RenderedFeed | None:
        """The feed of a public product; None for an unknown or non-public one."""
        with self.db.engine.connect() as connection:
            row = connection.execute(_BY_PRODUCT, {"key": key}).first()
        if row is None:
            return None
        product_id, product_key, version = row
        return self._serve(
            ("product", product_id), version, now, lambda s, a, b: product_feed(s, self.settings, product_key, a, b)
        )

    def _serve(
        self,
        feed: tuple[str, int],
        version: int,
        now: datetime,
        render: Callable[[Session, datetime, datetime], RenderedFeed],
    ) -> RenderedFeed:
        start, end = horizon(now)
        day = now.astimezone(UTC).date()
        cached = self.cache.get((*feed, version, day))
        if cached is not None:
            return cached
        with self.cache.render_lock(feed):
            for _ in range(5):
                cached = self.cache.get((*feed, version, day))
                if cached is not None:
                    return cached
                with self.db.transaction() as session:
                    before = _version(session)
                    rendered = render(session, start, end)
                    after = _version(session)
                # The feed changes when the horizon moves at 00:00Z, even without data changes.
                rendered = _at_least(rendered, _midnight(day))
                if before == after:
                    self.cache.put((*feed, before, day), rendered)
                    return rendered
                version = after  # the data changed while rendering: render again
            return rendered


def _version(session: Session) -> int:
    # A column query, not session.get(): the identity map would answer without asking the database.
    return session.execute(select(DataVersion.version).where(DataVersion.id == 1)).scalar_one()


def _at_least(feed: RenderedFeed, instant: datetime) -> RenderedFeed:
    if feed.last_modified >= instant:
        return feed
    return RenderedFeed(feed.body, feed.etag, instant, feed.events, feed.filename)
