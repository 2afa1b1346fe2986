"""The HTTP-facing feed service: a feed by token or public product key, validated and cached.

Which feed a request names and its stamp (the versions of what it depends on: every feed's, its
product's or its customer's and that customer's products', ``fingerprint.FeedStamp``) come from the
process's ``FeedIndex``, in memory, read from the database at most every ``feed_version_poll_ms``: a
poll costs no query. From them the ETag and Last-Modified are known without rendering
(``fingerprint.feed_validator``), so a 304 never renders, and a change to one customer leaves every
other feed's ETag (and cached body) as it was. A 200 is served from a cache keyed by (feed, stamp,
horizon day); a miss is rendered off the event loop (``render_pool``), once however many requests
wait for it (single flight: they await one future, no thread is held per waiting request). Several
server processes over one database never serve a feed staler than that bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from scheduler.feeds.cache import FeedCache
from scheduler.feeds.content import RenderedFeed, horizon
from scheduler.feeds.fingerprint import FeedStamp, Validator, feed_validator
from scheduler.feeds.index import FeedIndex
from scheduler.feeds.render_pool import RenderPool
from scheduler.feeds.tokens import hash_token
from scheduler.settings import Settings
from scheduler.store.db import Database

VALIDATORS = 100_000  # remembered (feed, stamp, day) validators; past it they are computed afresh
RETRIES = 2  # renders of a feed whose data changed while it rendered (then served, not cached)


@dataclass(frozen=True)
class FeedRequest:
    """A feed found by one request: what it is and its validator (no body yet)."""

    kind: str  # customer | product
    row_id: int
    key: str
    stamp: FeedStamp
    day: date
    now: datetime
    validator: Validator


class FeedService:
    """Feeds as the server serves them: looked up by token or public product key, cached."""

    def __init__(
        self, db: Database, settings: Settings, cache: FeedCache | None = None, index: FeedIndex | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.cache = cache or FeedCache()
        self.index = index or FeedIndex(db, settings.feed_version_poll_ms / 1000)
        self.pool = RenderPool(db, settings)
        self.renders = 0  # feeds rendered by this service (single flight: one per miss)
        self._flights: dict[tuple[Hashable, ...], asyncio.Task[RenderedFeed]] = {}
        self._validators: dict[tuple[Hashable, ...], Validator] = {}
        self.fast_lane: object | None = None  # the HTTP app's FeedFastLane, when one serves this

    # -- lookup (from memory; the database only for a feed not yet known or versions past the bound) -----

    async def by_token(self, token: str, now: datetime) -> FeedRequest | None:
        """The feed of the customer holding ``token``; None for any unknown, malformed or revoked token."""
        await self.index.versions()
        found = await self.index.customer(hash_token(token))
        if found is None:
            return None
        return self.request("customer", *found, await self.index.stamp("customer", found[0]), now)

    async def by_product(self, key: str, now: datetime) -> FeedRequest | None:
        """The feed of a public product; None for an unknown or non-public one."""
        await self.index.versions()
        found = await self.index.product(key)
        if found is None:
            return None
        return self.request("product", *found, await self.index.stamp("product", found[0]), now)

    def request(self, kind: str, row_id: int, key: str, stamp: FeedStamp, now: datetime) -> FeedRequest:
        """The feed ``(kind, row_id)`` at ``stamp`` as seen ``now``: its validator, remembered."""
        day = now.astimezone(UTC).date()
        memo = (kind, row_id, stamp, day)
        validator = self._validators.get(memo)
        if validator is None:
            if len(self._validators) >= VALIDATORS:
                self._validators.clear()
            validator = feed_validator(self.settings, (kind, row_id), stamp, day)
            self._validators[memo] = validator
        return FeedRequest(kind, row_id, key, stamp, day, now, validator)

    # -- body (cached, rendered once per miss) --------------------------------------------------------

    def cached(self, request: FeedRequest) -> RenderedFeed | None:
        return self.cache.get((request.kind, request.row_id, request.stamp.versions, request.day))

    async def body(self, request: FeedRequest) -> RenderedFeed:
        """The rendered feed, its ETag and Last-Modified those of the data it was rendered from."""
        key = (request.kind, request.row_id, request.stamp.versions, request.day)
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
        """Render, then name the rendering by the stamp of the data version it was rendered at.

        The rendering saw data version G (``render_pool``). Once this index has read G or later, a
        stamp none of whose versions is above G stands for the rendered data: nothing this feed
        depends on changed between G and what the index knows.
        """
        start, end = horizon(request.now)
        done = None
        for _ in range(RETRIES):
            self.renders += 1
            done = await self.pool.render(request.kind, request.key, start, end)
            if done.version is None:
                continue  # the data changed while rendering: render again
            for _ in range(2):  # a read already under way may have begun before that version: then read again
                if self.index.data_version >= done.version:
                    break
                await self.index.refresh()  # the database is past this process's versions: read them
            if self.index.data_version < done.version:
                continue
            stamp = await self.index.stamp(request.kind, request.row_id)
            if stamp.latest > done.version:
                continue  # this feed changed after the rendering's data version: render again
            validator = feed_validator(self.settings, (request.kind, request.row_id), stamp, request.day)
            feed = replace(done.feed, etag=validator.etag, last_modified=validator.last_modified)
            self.cache.put((request.kind, request.row_id, stamp.versions, request.day), feed)
            return feed
        # Still changing: serve the last rendering under an ETag that no later request can match.
        assert done is not None
        return replace(done.feed, last_modified=request.validator.last_modified)

    def close(self) -> None:
        self.pool.close()
