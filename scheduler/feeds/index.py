"""What a feed request needs, known in memory: which feed a token opens, and the data version.

A poll (``GET /feeds/TOKEN.ics`` with If-None-Match) is answered from this index without a
database query: a map from token hash to the customer it opens (and public product key to its
product), and the database's versions, read in one small query at most every
``feed_version_poll_ms`` (a background task keeps them fresh; a request that finds them older than
that reads them first, once for all requests waiting). So a change made anywhere (another server
process, the CLI, a worker) shows in this process's ETags within that bound, and a revoked or
rotated token stops opening its feed within it.

Two versions are read, both rows of ``data_version``: row 1, raised by every change that can alter a
feed (``repository.bump_version``), and row ``TOKENS_ROW``, raised by every feed token issued or
revoked (``tokens.py``). A new data version empties both maps (a customer or product may be gone or
renamed, a product no longer public); a new tokens version empties the token map. Entries are then
looked up again, one query per feed, as requests come. A write committed through any engine of this
process marks the versions stale at once (``_note_writes``), so the next request reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, event, select
from sqlalchemy.engine import Connection

from scheduler.store.db import Database
from scheduler.store.models import Customer, DataVersion, FeedToken, Product

TOKENS_ROW = 2  # the row of data_version counting feed token changes (created by the first change)
MAX_ENTRIES = 200_000  # per map; past it the map starts over (then fills again from requests)
log = logging.getLogger("maintcal.feeds")

_VERSIONS = select(DataVersion.id, DataVersion.version, DataVersion.changed_at).where(
    DataVersion.id.in_([1, TOKENS_ROW])
)
_BY_TOKEN = (
    select(Customer.id, Customer.key)
    .join(FeedToken, FeedToken.customer_id == Customer.id)
    .where(FeedToken.token_hash == bindparam("digest"), FeedToken.revoked_at.is_(None))
)
_BY_PRODUCT = select(Product.id, Product.key).where(Product.key == bindparam("key"), Product.public.is_(True))


@dataclass(frozen=True)
class Versions:
    """The database's versions as last read: feeds' data (and when it changed), and feed tokens."""

    data: int
    changed_at: datetime
    tokens: int


class FeedIndex:
    """Token hash -> customer, product key -> product, and the versions, for one server process.

    ``monotonic`` is the clock of the staleness bound (pinned in tests).
    """

    def __init__(self, db: Database, poll_seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.monotonic = monotonic
        self.reads = 0  # version reads (polls) by this index
        self.lookups = 0  # token / product lookups that queried the database
        self._versions: Versions | None = None
        self._read_at = float("-inf")  # monotonic instant the current versions' query started
        self._applied = float("-inf")  # start of the read whose answer is current
        self._invalidations = 0  # local writes seen
        self._generation = 0  # raised whenever a map is emptied: a lookup begun before is not kept
        self._tokens: dict[str, tuple[int, str]] = {}
        self._products: dict[str, tuple[int, str]] = {}
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
        rows = await asyncio.to_thread(self._read_rows)
        by_id = {row[0]: row for row in rows}
        read = Versions(by_id[1][1], by_id[1][2], by_id[TOKENS_ROW][1] if TOKENS_ROW in by_id else 0)
        self.reads += 1
        if started < self._applied:  # a read begun later has already answered
            return self._versions or read
        self._applied = started
        old = self._versions
        if old is not None and read.data != old.data:
            self._forget(products=True)
        elif old is not None and read.tokens != old.tokens:
            self._forget(products=False)
        self._versions = read
        if mark == self._invalidations:  # no local write since it began: fresh from then on
            self._read_at = started
        return read

    def _read_rows(self) -> list[Any]:
        with self.db.engine.connect() as connection:
            return list(connection.execute(_VERSIONS).all())

    def _forget(self, *, products: bool) -> None:
        self._generation += 1
        self._tokens = {}
        if products:
            self._products = {}

    def invalidate(self) -> None:
        """Something was written through this process: read the versions before the next answer."""
        self._invalidations += 1
        self._read_at = float("-inf")

    # -- lookups ----------------------------------------------------------------------------------------

    def known_customer(self, digest: str) -> tuple[int, str] | None:
        """The customer of ``digest`` if this index knows it already (None: unknown here, ask ``customer``)."""
        return self._tokens.get(digest)

    def known_product(self, key: str) -> tuple[int, str] | None:
        return self._products.get(key)

    async def customer(self, digest: str) -> tuple[int, str] | None:
        """(id, key) of the customer whose active token hashes to ``digest``; None for any other."""
        found = self._tokens.get(digest)
        if found is not None:
            return found
        return await self._lookup("tokens", _BY_TOKEN, {"digest": digest}, digest)

    async def product(self, key: str) -> tuple[int, str] | None:
        """(id, key) of the public product ``key``; None for an unknown or non-public one."""
        found = self._products.get(key)
        if found is not None:
            return found
        return await self._lookup("products", _BY_PRODUCT, {"key": key}, key)

    async def _lookup(self, kind: str, query: Any, params: dict[str, str], name: str) -> tuple[int, str] | None:
        generation = self._generation
        row = await asyncio.to_thread(self._query, query, params)
        self.lookups += 1
        if row is None:
            return None  # unknown names are not remembered (wrong tokens are rate limited instead)
        found = (int(row[0]), str(row[1]))
        if generation == self._generation:  # no change was seen while it ran: keep it
            entries = self._tokens if kind == "tokens" else self._products
            if len(entries) >= MAX_ENTRIES:
                entries.clear()
            entries[name] = found
        return found

    def _query(self, query: Any, params: dict[str, str]) -> Any:
        with self.db.engine.connect() as connection:
            return connection.execute(query, params).first()

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
