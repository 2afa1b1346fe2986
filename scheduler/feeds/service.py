"""The HTTP-facing feed service: a feed by token or public product key, with an ETag, cached.

``FeedService`` serves feeds from a cache keyed by (feed, data version, horizon day). The data
version is read from the database on every request (``repository.bump_version`` raises it with
every change that can alter a feed), so several server processes over one database never serve
a stale feed, and a poll that finds its feed cached costs one small query.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from scheduler.feeds.cache import FeedCache
from scheduler.feeds.content import RenderedFeed, customer_feed, horizon, product_feed, utc_midnight
from scheduler.feeds.tokens import hash_token
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, DataVersion, FeedToken, Product

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
                rendered = _at_least(rendered, utc_midnight(day))
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
