"""Every table is classified as shaping feeds or not: a new table cannot slip past the feed ETag."""

from __future__ import annotations

from scheduler.feeds.fingerprint import FEED_SHAPING_TABLES, NOT_FEED_SHAPING_TABLES
from scheduler.store.tables import metadata


def test_every_table_is_classified_as_shaping_feeds_or_not() -> None:
    tables = set(metadata.tables)
    assert not FEED_SHAPING_TABLES & NOT_FEED_SHAPING_TABLES
    unclassified = tables - FEED_SHAPING_TABLES - NOT_FEED_SHAPING_TABLES
    assert not unclassified, (
        f"classify {sorted(unclassified)} in scheduler/feeds/fingerprint.py: if its rows change what a "
        "feed holds, put it in FEED_SHAPING_TABLES and bump the data version with every change to it"
    )
    assert tables == FEED_SHAPING_TABLES | NOT_FEED_SHAPING_TABLES  # no stale names either
