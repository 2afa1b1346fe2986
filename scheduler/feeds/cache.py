"""The feed cache: rendered feeds in memory, bounded in bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from scheduler.feeds.content import RenderedFeed

CACHE_BYTES = 128 * 2**20


class FeedCache:
    """Rendered feeds in memory, bounded in bytes, least recently used first out.

    Keys are (kind, feed id, data version, horizon day); putting a feed drops its older versions
    (found by feed, ``_by_feed``: at most one key per feed is held, so a put costs no scan).
    """

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Hashable, ...], RenderedFeed] = OrderedDict()
        self._by_feed: dict[tuple[Hashable, ...], tuple[Hashable, ...]] = {}  # (kind, feed id) -> its key
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[Hashable, ...]) -> RenderedFeed | None:
        with self._lock:
            feed = self._items.get(key)
            if feed is not None:
                self._items.move_to_end(key)
            return feed

    def put(self, key: tuple[Hashable, ...], feed: RenderedFeed) -> None:
        if len(feed.body) > self.max_bytes:
            return
        feed_id = key[:2]
        with self._lock:
            old = self._by_feed.get(feed_id)
            if old is not None:
                self._size -= len(self._items.pop(old).body)
            self._items[key] = feed
            self._by_feed[feed_id] = key
            self._size += len(feed.body)
            while self._size > self.max_bytes:
                dropped_key, dropped = self._items.popitem(last=False)
                del self._by_feed[dropped_key[:2]]
                self._size -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._items)
