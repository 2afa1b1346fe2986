"""The feed cache: bounded in bytes, least recently used out, one version per feed (found by feed)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from scheduler.feeds.cache import FeedCache
from scheduler.feeds.content import RenderedFeed

DAY = date(2027, 1, 4)


def feed(size: int, name: str) -> RenderedFeed:
    return RenderedFeed(b"x" * size, f'"{name}"', datetime(2027, 1, 4, tzinfo=UTC), 1, f"{name}.ics")


def test_a_new_version_replaces_the_feeds_older_one_and_evictions_keep_the_rest() -> None:
    cache = FeedCache(max_bytes=1000)
    cache.put(("customer", 1, (1, 0), DAY), feed(300, "c1v1"))
    cache.put(("customer", 2, (1, 0), DAY), feed(300, "c2v1"))
    cache.put(("product", 1, (1, 0), DAY), feed(100, "p1v1"))  # same id, other kind: another feed
    cache.put(("customer", 1, (2, 0), DAY), feed(200, "c1v2"))  # drops c1v1
    assert len(cache) == 3
    assert cache.get(("customer", 1, (1, 0), DAY)) is None
    assert cache.get(("customer", 1, (2, 0), DAY)) == feed(200, "c1v2")
    assert cache._size == 600
    cache.put(("customer", 1, (2, 0), DAY), feed(250, "c1v2"))  # the same key again: replaced, counted once
    assert (len(cache), cache._size) == (3, 650)
    # 650 + 400 > 1000: the least recently used goes (c2v1; c1v2 was just put again).
    cache.put(("customer", 3, (1, 0), DAY), feed(400, "c3v1"))
    assert (len(cache), cache._size) == (3, 750)
    assert cache.get(("customer", 2, (1, 0), DAY)) is None
    cache.put(("customer", 2, (3, 0), DAY), feed(300, "c2v3"))  # its old version was evicted: p1v1 goes
    assert (len(cache), cache._size) == (3, 950)
    assert cache.get(("product", 1, (1, 0), DAY)) is None
    assert cache.get(("customer", 1, (2, 0), DAY)) == feed(250, "c1v2")
    assert cache.get(("customer", 3, (1, 0), DAY)) == feed(400, "c3v1")
    assert cache.get(("customer", 2, (3, 0), DAY)) == feed(300, "c2v3")
    assert sorted(cache._by_feed.items()) == [
        (("customer", 1), ("customer", 1, (2, 0), DAY)),
        (("customer", 2), ("customer", 2, (3, 0), DAY)),
        (("customer", 3), ("customer", 3, (1, 0), DAY)),
    ]


def test_a_feed_larger_than_the_cache_is_not_kept() -> None:
    cache = FeedCache(max_bytes=100)
    cache.put(("customer", 1, (1, 0), DAY), feed(101, "big"))
    assert (len(cache), cache._size, cache._by_feed) == (0, 0, {})
