"""The HTTP-facing feed service: a feed by token or public product key, validated and cached.

A request costs one small query (the feed's row and the data version, which
``repository.bump_version`` raises with every change that can alter a feed). From it the ETag and
Last-Modified are known without rendering (``fingerprint.feed_validator``), so a 304 never renders.
A 200 is served from a cache keyed by (feed, data version, horizon day); a miss is rendered off the
event loop (``render_pool``), once however many requests wait for it (single flight: they await one
future, no thread is held per waiting request). Several server processes over one database never
serve a stale feed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from sqlalchemy import bindparam, select

from scheduler.feeds.cache import FeedCache
from scheduler.feeds.content import RenderedFeed, horizon
from scheduler.feeds.fingerprint import Validator, feed_validator
from scheduler.feeds.render_pool import RenderPool
from scheduler.feeds.tokens import hash_token
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, DataVersion, FeedToken, Product

# Built once: every poll runs one of these, with the data version, in a single small query.
_BY_TOKEN = (
    select(Customer.id, Customer.key, DataVersion.version, DataVersion.changed_at)
    .join(FeedToken, FeedToken.customer_id == Customer.id)
    .join(DataVersion, DataVersion.id == 1)
    .where(FeedToken.token_hash == bindparam("digest"), FeedToken.revoked_at.is_(None))
)
_BY_PRODUCT = (
    select(Product.id, Product.key, DataVersion.version, DataVersion.changed_at)
    .join(DataVersion, DataVersion.id == 1)
    .where(Product.key == bindparam("key"), Product.public.is_(True))
)
RETRIES = 2  # renders of a feed whose data changed while it rendered (then served, not cached)


@dataclass(frozen=True)
class FeedRequest:
    """A feed found by one request: what it is and its validator (no body yet)."""

    kind: str  # customer | product
    row_id: int
    key: str
    version: int
    day: date
    now: datetime
    validator: Validator


class FeedService:
    """Feeds as the server serves them: looked up by token or public product key, cached."""

    def __init__(self, db: Database, settings: Settings, cache: FeedCache | None = None) -> None:
        self.db = db
        self.settings = settings
        self.cache = cache or FeedCache()
        self.pool = RenderPool(db, settings)
        self.renders = 0  # feeds rendered by this service (single flight: one per miss)
        self._flights: dict[tuple[Hashable, ...], asyncio.Task[RenderedFeed]] = {}

    # -- lookup (one query, in a worker thread for its duration only) --------------------------------

    async def by_token(self, token: str, now: datetime) -> FeedRequest | None:
        """The feed of the customer holding ``token``; None for any unknown, malformed or revoked token."""
        return await asyncio.to_thread(self.find_by_token, token, now)

    async def by_product(self, key: str, now: datetime) -> FeedRequest | None:
        """The feed of a public product; None for an unknown or non-public one."""
        return await asyncio.to_thread(self.find_by_product, key, now)

    def find_by_token(self, token: str, now: datetime) -> FeedRequest | None:
        with self.db.engine.connect() as connection:  # a plain read: no ORM session on the hot path
            row = connection.execute(_BY_TOKEN, {"digest": hash_token(token)}).first()
        return None if row is None else self._request("customer", *row, now=now)

    def find_by_product(self, key: str, now: datetime) -> FeedRequest | None:
        with self.db.engine.connect() as connection:
            row = connection.execute(_BY_PRODUCT, {"key": key}).first()
        return None if row is None else self._request("product", *row, now=now)

    def _request(
        self, kind: str, row_id: int, key: str, version: int, changed_at: datetime, *, now: datetime
    ) -> FeedRequest:
        day = now.astimezone(UTC).date()
        validator = feed_validator(self.settings, (kind, row_id), version, changed_at, day)
        return FeedRequest(kind, row_id, key, version, day, now, validator)

    # -- body (cached, rendered once per miss) --------------------------------------------------------

    def cached(self, request: FeedRequest) -> RenderedFeed | None:
        return self.cache.get((request.kind, request.row_id, request.version, request.day))

    async def body(self, request: FeedRequest) -> RenderedFeed:
        """The rendered feed, its ETag and Last-Modified those of the data it was rendered from."""
        key = (request.kind, request.row_id, request.version, request.day)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._render(request))
            self._flights[key] = flight
            flight.add_done_callback(lambda _: self._flights.pop(key, None))
        return await asyncio.shield(flight)  # a client that leaves does not cancel the others' render

    async def _render(self, request: FeedRequest) -> RenderedFeed:
        start, end = horizon(request.now)
        for _ in range(RETRIES):
            self.renders += 1
            done = await self.pool.render(request.kind, request.key, start, end)
            if done.version is None:
                continue  # the data changed while rendering: render again
            validator = feed_validator(
                self.settings, (request.kind, request.row_id), done.version, done.changed_at, request.day
            )
            feed = replace(done.feed, etag=validator.etag, last_modified=validator.last_modified)
            self.cache.put((request.kind, request.row_id, done.version, request.day), feed)
            return feed
        # Still changing: serve the last rendering under an ETag that no later request can match.
        return replace(done.feed, last_modified=request.validator.last_modified)

    def close(self) -> None:
        self.pool.close()
