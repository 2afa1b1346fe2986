"""Feed rendering off the event loop: a small pool of processes (or one thread per render).

Rendering a feed is CPU work (expansion, iCalendar text) that would hold the GIL: in a thread it
slows every other request of the process. ``RenderPool`` runs it in ``feed_render_processes``
spawned processes, each with its own database engine; with 0 it uses a worker thread instead
(tests, or where processes are not wanted). Either way the event loop only awaits a future.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.feeds.content import RenderedFeed, customer_feed, product_feed
from scheduler.settings import Settings
from scheduler.store.db import Database, sqlite_file
from scheduler.store.models import DataVersion

RENDER_NICENESS = 10
log = logging.getLogger("maintcal.feeds")


@dataclass(frozen=True)
class Rendering:
    """A feed rendered at one data version (None when the data changed while rendering)."""

    feed: RenderedFeed
    version: int | None
    changed_at: datetime


def render(db: Database, settings: Settings, kind: str, key: str, start: datetime, end: datetime) -> Rendering:
    """Render one feed in one transaction, noting the data version it was rendered at."""
    with db.transaction() as session:
        before = _version(session)
        if kind == "customer":
            feed = customer_feed(session, settings, key, start, end)
        else:
            feed = product_feed(session, settings, key, start, end)
        after = _version(session)
    return Rendering(feed, before[0] if before == after else None, after[1])


def _version(session: Session) -> tuple[int, datetime]:
    # A column query, not session.get(): the identity map would answer without asking the database.
    row = session.execute(select(DataVersion.version, DataVersion.changed_at).where(DataVersion.id == 1)).one()
    return row[0], row[1]


# -- in a pool process -----------------------------------------------------------------------------

_child: tuple[Database, Settings] | None = None


def _start_child(url: str, settings: Settings) -> None:
    global _child
    os.nice(RENDER_NICENESS)  # the server process (its event loop, /healthz, 304s) comes first for the CPU
    _child = (Database.open(url), settings)


def _render_in_child(kind: str, key: str, start: datetime, end: datetime) -> Rendering:
    assert _child is not None
    db, settings = _child
    return render(db, settings, kind, key, start, end)


class RenderPool:
    """Renders feeds for one server process; the processes start on the first render."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._executor: Executor | None = None

    @property
    def uses_processes(self) -> bool:
        """Processes unless configured off, or the database lives in this process's memory only."""
        in_memory = self.db.engine.dialect.name == "sqlite" and sqlite_file(self.db.engine) is None
        return self.settings.feed_render_processes > 0 and not in_memory

    async def render(self, kind: str, key: str, start: datetime, end: datetime) -> Rendering:
        if not self.uses_processes:
            return await asyncio.to_thread(render, self.db, self.settings, kind, key, start, end)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), _render_in_child, kind, key, start, end)
        except BrokenProcessPool:  # a render process died (killed, out of memory): start new ones, once
            log.warning("a feed render process died; starting new ones")
            self.close()
            return await loop.run_in_executor(self._pool(), _render_in_child, kind, key, start, end)

    def _pool(self) -> Executor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.settings.feed_render_processes,
                mp_context=multiprocessing.get_context("spawn"),  # no fork of a process with threads
                initializer=_start_child,
                initargs=(self.db.engine.url.render_as_string(hide_password=False), self.settings),
            )
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
