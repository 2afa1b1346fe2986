"""What a feed request needs, known in memory: which feed a token opens, and its stamp.

A poll (``GET /feeds/TOKEN.ics`` with If-None-Match) is answered from this index without a
database query: a map from token hash to the customer it opens (and public product key to its
product), each customer's subscribed products, and the feeds' versions, read in one small query at
most every ``feed_version_poll_ms`` (a background task keeps them fresh; a request that finds them
older than that reads them first, once for all requests waiting). So a change made anywhere
(another server process, the CLI, a worker) shows in this process's ETags within that bound, and a
revoked or rotated token stops opening its feed within it.

The query reads two rows of ``data_version`` (row 1, raised by every change; row ``TOKENS_ROW``,
by every feed token issued or revoked, ``tokens.py``) and the ``feed_versions`` rows changed since
the last read (``version`` above the data version last read; all of them on the first read). Every
change updates row 1 first, whose row lock orders the changes, and one statement reads one
snapshot: the rows up to the data version it sees are all there. A feed's ``FeedStamp`` is then
known from memory: the 'all' version, the product's (a product feed) or the customer's and each of
its products' (a customer feed). A change to one customer changes its stamp only; this process
keeps every other feed, token and subscription list it knows. A change that names nothing ('all')
empties the maps (a customer or product may be gone, a product no longer public); a new tokens
version empties the token map; a customer's change drops its subscription list. The first read, and
a read that empties the token map, also reads every active token (and, unless only tokens changed,
every customer's products) in the same statement as the versions (``preload.py``): at 50,000
customers a first poll no longer costs a lookup each. Anything else (a token issued since, a
customer whose version moved, a map past ``MAX_ENTRIES``) is looked up, one query per feed, as
requests come. A write committed through any engine of this
process marks the versions stale at once (``_note_writes``), so the next request reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Integer, String, bindparam, event, literal, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from scheduler.feeds import preload
from scheduler.feeds.fingerprint import FeedStamp
from scheduler.feeds.preload import TOKENS_ROW as TOKENS_ROW
from scheduler.store.db import Database
from scheduler.store.models import Customer, FeedToken, FeedVersion, Product, Subscription

MAX_ENTRIES = 200_000  # per map; past it the map starts over (then fills again from requests)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # changed_at of a version never written
UNCACHEABLE = 2**62  # the ``latest`` of a stamp that no rendering may be cached under
log = logging.getLogger("maintcal.feeds")

_BY_TOKEN = (
    select(Customer.id, Customer.key)
    .join(FeedToken, FeedToken.customer_id == Customer.id)
    .where(FeedToken.token_hash == bindparam("digest"), FeedToken.revoked_at.is_(None))
)
_BY_PRODUCT = select(Product.id, Product.key).where(Product.key == bindparam("key"), Product.public.is_(True))
# A customer's products and the versions they were read at, in one statement (one snapshot).
_SUBSCRIPTIONS = union_all(
    select(literal("sub", String()).label("kind"), Subscription.product_id).where(
        Subscription.customer_id == bindparam("customer", type_=Integer())
    ),
    select(FeedVersion.kind, FeedVersion.version).where(
        ((FeedVersion.kind == "customer") & (FeedVersion.ref == bindparam("customer", type_=Integer())))
        | ((FeedVersion.kind == "all") & (FeedVersion.ref == 0))
    ),
)

Stamp = tuple[int, datetime]  # the data version of a feed_versions row, and its changed_at


@dataclass(frozen=True)
class Versions:
    """The database's versions as last read: every change (and when), and feed tokens."""

    data: int
    changed_at: datetime
    tokens: int


class FeedIndex:
    """Token hash -> customer, product key -> product, customer -> products, and the versions.

    One per server process. ``monotonic`` is the clock of the staleness bound (pinned in tests).
    """

    def __init__(self, db: Database, poll_seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.monotonic = monotonic
        self.reads = 0  # version reads (polls) by this index
        self.lookups = 0  # token / product / subscription lookups that queried the database
        self._versions: Versions | None = None
        self._read_at = float("-inf")  # monotonic instant the current versions' query started
        self._applied = float("-inf")  # start of the read whose answer is current
        self._invalidations = 0  # local writes seen
        self._generation = 0  # raised whenever a map is emptied: a lookup begun before is not kept
        self._all: Stamp = (0, EPOCH)
        self._stamps: dict[tuple[str, int], Stamp] = {}  # ('product' | 'customer', id) -> stamp
        self._tokens: dict[str, tuple[int, str]] = {}
        self._products: dict[str, tuple[int, str]] = {}
        # customer id -> ((all version, customer version) it was read at, subscribed product ids)
        self._subscriptions: dict[int, tuple[tuple[int, int], tuple[int, ...]]] = {}
        self._known: dict[tuple[str, int], FeedStamp] = {}  # stamps composed since the last change seen
        self._reading: tuple[int, asyncio.Future[Versions]] | None = None
        self._poller: asyncio.Task[None] | None = None
        _INDEXES.add(self)

    # -- versions ---------------------------------------------------------------------------------------

    async def versions(self) -> Versions:
        """The versions, read at most ``poll_seconds`` ago (read now, once for all waiters, if older)."""
        current = self._versions
        if current is not None and self.monotonic() - self._read_at < self.poll_seconds:
            return current
        return await self.refresh()

    def fresh(self) -> Versions | None:
        """The versions if read within the bound, else None (without reading)."""
        current = self._versions
        if current is not None and self.monotonic() - self._read_at < self.poll_seconds:
            return current
        return None

    async def refresh(self) -> Versions:
        """Read the versions now; a read under way is joined unless a local write came after it began."""
        reading = self._reading
        if reading is None or reading[0] != self._invalidations:
            future = asyncio.ensure_future(self._read())
            reading = self._reading = (self._invalidations, future)
            future.add_done_callback(lambda _: self._read_done(reading))
        return await asyncio.shield(reading[1])

    def _read_done(self, reading: tuple[int, asyncio.Future[Versions]]) -> None:
        if self._reading is reading:
            self._reading = None

    async def _read(self) -> Versions:
        started, mark = self.monotonic(), self._invalidations
        old = self._versions
        since = -1 if old is None else old.data
        rows = await asyncio.to_thread(self._read_rows, since)
        read = _versions_of(rows)
        restored = old is not None and read.data < old.data  # a database restored or replaced: start over
        every = max((int(row[2]) for row in rows if row[0] == "all"), default=-1)
        subscriptions = old is None or restored or every > self._all[0]  # every map would be emptied
        if subscriptions or (old is not None and read.tokens != old.tokens):
            # Read every active token (and every customer's products) with the versions, in one statement.
            since = -1 if subscriptions else since
            rows = await asyncio.to_thread(self._read_rows, since, True, subscriptions)
            read = _versions_of(rows)
        if restored:
            self._forget(products=True, stamps=True)
        self.reads += 1
        if started < self._applied:  # a read begun later has already answered
            return self._versions or read
        self._applied = started
        self._apply([row for row in rows if row[0] in ("all", "product", "customer")])
        if old is not None and read.tokens != old.tokens:
            self._forget(products=False)
        self._preloaded(rows, subscriptions)
        self._versions = read
        if mark == self._invalidations:  # no local write since it began: fresh from then on
            self._read_at = started
        return read

    def _preloaded(self, rows: list[Any], subscriptions: bool) -> None:
        """Keep the tokens (and products) read with the versions, unless more than a map holds."""
        tokens = preload.token_map(rows)
        if not tokens or len(tokens) > MAX_ENTRIES:
            return
        self._generation += 1  # a lookup begun before this read is not kept: this map is newer
        self._tokens = tokens
        if subscriptions:
            self._subscriptions = preload.subscription_map(rows)
            self._known = {}

    def _apply(self, stamps: list[Any]) -> None:
        """Take the feed_versions rows read (any order, maybe read before: only newer ones count)."""
        changed = False
        for kind, ref, version, changed_at, *_ in stamps:
            if kind == "all":
                if version > self._all[0]:
                    self._all = (version, changed_at)
                    self._forget(products=True)
                continue
            key = (str(kind), int(ref))
            known = self._stamps.get(key)
            if known is None or version > known[0]:
                self._stamps[key] = (version, changed_at)
                changed = True
                if kind == "customer":
                    self._subscriptions.pop(int(ref), None)
        if changed:
            self._known = {}

    def _read_rows(self, since: int, tokens: bool = False, subscriptions: bool = False) -> list[Any]:
        query = preload.statement(tokens=tokens, subscriptions=subscriptions)
        with self.db.engine.connect() as connection:
            return list(connection.execute(query, {"since": since}).all())

    def _forget(self, *, products: bool, stamps: bool = False) -> None:
        self._generation += 1
        self._known = {}
        self._tokens = {}
        if products:
            self._products = {}
            self._subscriptions = {}
        if stamps:
            self._all = (0, EPOCH)
            self._stamps = {}

    @property
    def data_version(self) -> int:
        """The data version this index last read (-1 before its first read)."""
        return -1 if self._versions is None else self._versions.data

    def invalidate(self) -> None:
        """Something was written through this process: read the versions before the next answer."""
        self._invalidations += 1
        self._read_at = float("-inf")

    # -- stamps -----------------------------------------------------------------------------------------

    def known_stamp(self, kind: str, row_id: int) -> FeedStamp | None:
        """The stamp of feed (kind, row id) from memory; None when a customer's products are unknown here."""
        known = self._known.get((kind, row_id))
        if known is not None:
            return known
        products: tuple[int, ...] = ()
        if kind == "customer":
            subscribed = self._subscriptions.get(row_id)
            own = self._stamps.get((kind, row_id), (0, EPOCH))[0]
            if subscribed is None or subscribed[0] != (self._all[0], own):
                return None  # not looked up, or read at other versions than this index's
            products = subscribed[1]
        found = self._known[(kind, row_id)] = compose_stamp(kind, row_id, self._all, self._stamps, products)
        if len(self._known) > MAX_ENTRIES:
            self._known = {}
        return found

    async def stamp(self, kind: str, row_id: int) -> FeedStamp:
        """The stamp of feed (kind, row id), a customer's products looked up first if not known here."""
        for attempt in range(3):
            found = self.known_stamp(kind, row_id)
            if found is not None:
                return found
            if attempt:  # read at versions this index has not read yet: read them
                await self.refresh()
            await self._lookup_subscriptions(row_id)
        found = self.known_stamp(kind, row_id)
        if found is None:  # the customer's data keeps changing: a stamp no other answer shares
            return FeedStamp((-1, secrets.randbits(63)), UNCACHEABLE, self._all[1])
        return found

    async def _lookup_subscriptions(self, customer_id: int) -> None:
        rows = await asyncio.to_thread(self._query_all, _SUBSCRIPTIONS, {"customer": customer_id})
        self.lookups += 1
        self._keep_subscriptions(customer_id, rows)

    def _keep_subscriptions(self, customer_id: int, rows: list[Any]) -> None:
        """Keep a customer's products with the versions they were read at (used only at those)."""
        read_all = read_own = 0
        products = []
        for kind, value in rows:
            if kind == "sub":
                products.append(int(value))
            elif kind == "all":
                read_all = int(value)
            else:
                read_own = int(value)
        self._known.pop(("customer", customer_id), None)
        if len(self._subscriptions) >= MAX_ENTRIES:
            self._subscriptions.clear()
        self._subscriptions[customer_id] = ((read_all, read_own), tuple(sorted(products)))

    # -- lookups ----------------------------------------------------------------------------------------

    def known_customer(self, digest: str) -> tuple[int, str] | None:
        """The customer of ``digest`` if this index knows it already (None: unknown here, ask ``customer``)."""
        return self._tokens.get(digest)

    def known_product(self, key: str) -> tuple[int, str] | None:
        return self._products.get(key)

    async def customer(self, digest: str) -> tuple[int, str] | None:
        """(id, key) of the customer whose active token hashes to ``digest``; None for any other.

        A lookup also reads the customer's products (same connection), unless already known here.
        """
        found = self._tokens.get(digest)
        if found is not None:
            return found
        generation = self._generation
        row, subscriptions = await asyncio.to_thread(self._query_customer, digest)
        self.lookups += 1
        if row is None:
            return None  # unknown names are not remembered (wrong tokens are rate limited instead)
        found = (int(row[0]), str(row[1]))
        if subscriptions is not None:
            self._keep_subscriptions(found[0], subscriptions)
        if generation == self._generation:  # no change was seen while it ran: keep it
            self._keep(self._tokens, digest, found)
        return found

    async def product(self, key: str) -> tuple[int, str] | None:
        """(id, key) of the public product ``key``; None for an unknown or non-public one."""
        found = self._products.get(key)
        if found is not None:
            return found
        generation = self._generation
        row = await asyncio.to_thread(self._query, _BY_PRODUCT, {"key": key})
        self.lookups += 1
        if row is None:
            return None
        found = (int(row[0]), str(row[1]))
        if generation == self._generation:
            self._keep(self._products, key, found)
        return found

    @staticmethod
    def _keep(entries: dict[str, tuple[int, str]], name: str, found: tuple[int, str]) -> None:
        if len(entries) >= MAX_ENTRIES:
            entries.clear()
        entries[name] = found

    def _query_customer(self, digest: str) -> tuple[Any, list[Any] | None]:
        with self.db.engine.connect() as connection:
            row = connection.execute(_BY_TOKEN, {"digest": digest}).first()
            if row is None or int(row[0]) in self._subscriptions:
                return row, None
            return row, list(connection.execute(_SUBSCRIPTIONS, {"customer": int(row[0])}).all())

    def _query(self, query: Any, params: dict[str, str]) -> Any:
        with self.db.engine.connect() as connection:
            return connection.execute(query, params).first()

    def _query_all(self, query: Any, params: dict[str, int]) -> list[Any]:
        with self.db.engine.connect() as connection:
            return list(connection.execute(query, params).all())

    # -- the background poll ----------------------------------------------------------------------------

    def start(self) -> None:
        """Poll the versions in the background (twice per bound), so requests rarely wait for a read."""
        if self._poller is None and self.poll_seconds > 0:
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as error:  # the database is away: requests read (and fail) on their own
                log.warning("could not read the data version: %s", str(error).splitlines()[0] if str(error) else error)
            await asyncio.sleep(self.poll_seconds / 2)

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None


def _versions_of(rows: list[Any]) -> Versions:
    data = {row[1]: row for row in rows if row[0] == "data"}
    return Versions(data[1][2], data[1][3], data[TOKENS_ROW][2] if TOKENS_ROW in data else 0)


def compose_stamp(
    kind: str,
    row_id: int,
    every: Stamp,
    stamps: Mapping[tuple[str, int], Stamp],
    products: tuple[int, ...],
) -> FeedStamp:
    """The stamp of feed (kind, row id): 'all', its own version, and (customer feeds) its ``products``'."""
    own = stamps.get((kind, row_id), (0, EPOCH))
    parts, latest, changed = [every[0], own[0]], max(every[0], own[0]), max(every[1], own[1])
    for product_id in products:
        version, product_changed = stamps.get(("product", product_id), (0, EPOCH))
        parts += [product_id, version]
        latest, changed = max(latest, version), max(changed, product_changed)
    return FeedStamp(tuple(parts), latest, changed)


def read_stamp(session: Session, kind: str, row_id: int) -> FeedStamp:
    """The stamp of feed (kind, row id) read from the database now (tests, tools: no index needed)."""
    rows = session.execute(select(FeedVersion.kind, FeedVersion.ref, FeedVersion.version, FeedVersion.changed_at))
    stamps = {(str(k), int(r)): (int(v), c) for k, r, v, c in rows}
    every = stamps.pop(("all", 0), (0, EPOCH))
    products: tuple[int, ...] = ()
    if kind == "customer":
        query = select(Subscription.product_id).where(Subscription.customer_id == row_id)
        products = tuple(sorted(session.scalars(query)))
    return compose_stamp(kind, row_id, every, stamps, products)


# -- local writes: any engine of this process ------------------------------------------------------------

_INDEXES: weakref.WeakSet[FeedIndex] = weakref.WeakSet()
_INDEXES_LOCK = threading.Lock()
_READ_ONLY = ("SELECT", "PRAGMA", "SHOW", "SET", "BEGIN", "SAVEPOINT", "RELEASE")


@event.listens_for(Engine, "after_cursor_execute")
def _note_writes(
    connection: Connection, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    if not statement.lstrip()[:9].upper().startswith(_READ_ONLY):
        connection.info["maintcal_wrote"] = True


@event.listens_for(Engine, "commit")
def _written(connection: Connection) -> None:
    if connection.info.pop("maintcal_wrote", False):
        with _INDEXES_LOCK:
            indexes = list(_INDEXES)
        for index in indexes:
            index.invalidate()


@event.listens_for(Engine, "rollback")
def _rolled_back(connection: Connection) -> None:
    connection.info.pop("maintcal_wrote", None)
