"""Pages of a listing: ``limit`` and an opaque ``after`` cursor, the next page in a Link header.

A listing ordered by (start, id) is cut after the item the cursor names; ``next_link`` gives the
RFC 8288 ``Link: <...>; rel="next"`` header of the following page while more remain (a relative
reference: the same path and query, with ``after`` and ``limit`` set).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from starlette.datastructures import URL

from windows.errors import InvalidInput
from windows.schedule import Scheduled
from windows.timezones import format_utc

DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
FIRST_STEP = timedelta(days=7)


def cursor_of(item: Scheduled) -> str:
    """The opaque cursor after ``item``.

    >>> decode_cursor(encode_cursor("2027-03-16T04:00:00Z", "pe.nightly.20270316"))
    ('2027-03-16T04:00:00Z', 'pe.nightly.20270316')
    """
    return encode_cursor(format_utc(item.start), item.id)


def encode_cursor(start: str, item_id: str) -> str:
    return base64.urlsafe_b64encode(f"{start}|{item_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """(UTC start, id) of a cursor; InvalidInput for anything this module did not make."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("after: not a cursor from a Link header of this API") from None
    start, sep, item_id = text.partition("|")
    try:
        datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise InvalidInput("after: not a cursor from a Link header of this API") from None
    if not sep or len(start) != 20 or not item_id:
        raise InvalidInput("after: not a cursor from a Link header of this API")
    return start, item_id


def collect_page(
    fetch: Callable[[datetime, datetime], Sequence[Scheduled]],
    start: datetime,
    end: datetime,
    limit: int,
    after: str | None,
) -> tuple[list[Scheduled], bool]:
    """Up to ``limit`` items of [start, end) following the cursor, and whether more remain.

    ``fetch(a, b)`` lists what overlaps [a, b). The work is proportional to the page: the listing is
    read from the cursor's start on, a week first and then twice as much each time, until the page
    is full (once the range is read up to B, every item that starts before B is known).
    """
    mark = decode_cursor(after) if after is not None else None
    low = start
    if mark is not None:
        low = max(start, datetime.strptime(mark[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC))
    found: dict[tuple[str, str | None], Scheduled] = {}
    step, reached = FIRST_STEP, low
    while reached < end:
        following = min(reached + step, end)
        for item in fetch(reached, following):
            found.setdefault((item.id, item.customer), item)
        reached, step = following, step * 2
        ready = [s for s in found.values() if mark is None or (format_utc(s.start), s.id) > mark]
        if reached < end:
            ready = [s for s in ready if s.start < reached]
        if len(ready) > limit or reached >= end:
            ready.sort(key=lambda s: (s.start, s.id))
            return ready[:limit], len(ready) > limit
    return [], False


def next_link(url: URL, last: Scheduled, limit: int, **pinned: str) -> str:
    """The Link header value of the page after ``last`` (``pinned`` query values fix the range)."""
    following = url.include_query_params(**pinned, limit=limit, after=cursor_of(last))
    return f'<{following.path}?{following.query}>; rel="next"'
