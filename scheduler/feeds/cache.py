"""The feed cache: rendered feeds in memory, bounded in bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from scheduler.feeds.content import RenderedFeed

CACHE_BYTES = 128 * 2**20


class FeedCache:
    """Rendered feeds in memory, bounded in bytes, least recently used first out.

    Keys are (kind, feed id, data version, horizon day); putting a feed drops its older versions.
    """

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Hashable, ...], RenderedFeed] = OrderedDict()
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
        with self._lock:
            for old in [k for k in self._items if k[:2] == key[:2]]:
                self._size -= len(self._items.pop(old).body)
            self._items[key] = feed
            self._size += len(feed.body)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._items)
