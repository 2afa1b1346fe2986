"""Which occurrences collide with blackouts and freezes, and what a ``local`` rule does about it.

An occurrence collides with a blocked interval when their half-open spans overlap. For a
``local`` rule (each customer's own occurrence) the product's policy decides (DESIGN §9):

- ``skip``: that customer's occurrence is cancelled;
- ``next``: it moves to the rule's next slot after the blackout: the same local start and end
  times on the first local day whose start is at or after the end of the blocking interval (and
  that is blocked by nothing else). If the rule already has an occurrence that day for the
  customer, that slot already exists and the occurrence is skipped instead.

Slots are wall-clock (DESIGN §2): each end is resolved from its local date and time, so a slot
moved over a DST change keeps its local hours.

>>> from datetime import UTC
>>> at = lambda d, h: datetime(2027, 3, d, h, tzinfo=UTC)
>>> blocked = [Blocked("b1", at(8, 5), at(13, 5))]
>>> collision(at(9, 5), at(9, 11), blocked).ident
'b1'
>>> collision(at(13, 5), at(13, 11), blocked) is None
True
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Generic, TypeVar

from windows.timezones import to_utc, zone_by_name

SKIP, NEXT = "skip", "next"
_MAX_DAYS = 400
T = TypeVar("T")


@dataclass(frozen=True, order=True)
class Blocked:
    """A blocked UTC interval [start, end) and what blocks it (a blackout or freeze id)."""

    ident: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Resolution:
    """What happens to one colliding ``local`` occurrence: ``skip``, or ``next`` with its new times."""

    action: str  # skip | next
    blocked_by: str
    new_start: datetime | None = None
    new_end: datetime | None = None


class BlockedIndex:
    """Blocked intervals sorted by start, for fast overlap queries (thousands per query)."""

    def __init__(self, blocked: Sequence[Blocked]) -> None:
        self.items = sorted(blocked, key=lambda b: (b.start, b.end, b.ident))
        self._starts = [b.start for b in self.items]
        longest = max((b.end - b.start for b in self.items), default=timedelta(0))
        self._reach = longest

    def first_overlap(self, start: datetime, end: datetime) -> Blocked | None:
        """The earliest-starting interval overlapping [start, end), or None."""
        i = bisect_left(self._starts, start - self._reach)
        while i < len(self.items) and self.items[i].start < end:
            item = self.items[i]
            if item.end > start:
                return item
            i += 1
        return None


class SharedBlocks(Generic[T]):
    """Distinct blocked UTC intervals, each with everything it blocks (its members), for overlap queries.

    Thousands of customers in a few zones share a few hundred distinct blackout intervals (every
    customer in Europe/Berlin with "the last 2 days of each month" has the same ones), so asking
    which intervals an occurrence overlaps costs a bisection among those, not a pass per customer.

    >>> from datetime import UTC
    >>> at = lambda d: datetime(2027, 3, d, tzinfo=UTC)
    >>> shared = SharedBlocks({(at(1), at(3)): ["a", "b"], (at(2), at(9)): ["c"], (at(20), at(21)): ["d"]})
    >>> shared.overlapping(at(2), at(4))
    [['a', 'b'], ['c']]
    >>> shared.overlapping(at(9), at(20))
    []
    """

    def __init__(self, groups: Mapping[tuple[datetime, datetime], Sequence[T]]) -> None:
        self._spans = sorted(groups)
        self._members = [groups[span] for span in self._spans]
        self._starts = [start for start, _ in self._spans]
        self._reach = max((end - start for start, end in self._spans), default=timedelta(0))

    def __len__(self) -> int:
        return len(self._spans)

    def overlapping(self, start: datetime, end: datetime) -> list[Sequence[T]]:
        """The members of every interval overlapping [start, end), in the intervals' order."""
        spans, found = self._spans, []
        i = bisect_left(self._starts, start - self._reach)
        while i < len(spans) and spans[i][0] < end:
            if spans[i][1] > start:
                found.append(self._members[i])
            i += 1
        return found


def collision(start: datetime, end: datetime, blocked: Sequence[Blocked]) -> Blocked | None:
    """The first blocked interval overlapping [start, end), or None (see ``BlockedIndex`` for many)."""
    return BlockedIndex(blocked).first_overlap(start, end)


def resolve_local(
    *,
    policy: str,
    hit: Blocked,
    local_start: datetime,
    local_end: datetime,
    zone_name: str,
    blocked: BlockedIndex,
    is_taken: Callable[[date], bool],
) -> Resolution:
    """What a colliding ``local`` occurrence becomes under ``policy`` (``skip`` or ``next``).

    ``local_start``/``local_end`` are the occurrence's aware local times; ``is_taken(day)`` says
    whether the rule already has an occurrence starting on that local date for this customer.

    >>> from windows.timezones import to_local
    >>> z = zone_by_name("America/New_York")      # DST begins Sunday 2027-03-14
    >>> ls = to_local(datetime(2027, 3, 9, 5, tzinfo=UTC), z)   # Tue 00:00 EST
    >>> le = to_local(datetime(2027, 3, 9, 11, tzinfo=UTC), z)  # Tue 06:00 EST
    >>> hit = Blocked("b1", datetime(2027, 3, 8, 5, tzinfo=UTC), datetime(2027, 3, 15, 4, tzinfo=UTC))
    >>> r = resolve_local(policy="next", hit=hit, local_start=ls, local_end=le,
    ...     zone_name="America/New_York", blocked=BlockedIndex([hit]), is_taken=lambda d: d.weekday() in (1, 3))
    >>> (r.action, r.new_start.isoformat(), r.new_end.isoformat())   # Mon 00:00-06:00 EDT
    ('next', '2027-03-15T04:00:00+00:00', '2027-03-15T10:00:00+00:00')
    """
    if policy != NEXT:
        return Resolution(SKIP, hit.ident)
    zone = zone_by_name(zone_name)
    start_time, end_time = local_start.replace(tzinfo=None).time(), local_end.replace(tzinfo=None).time()
    span_days = (local_end.date() - local_start.date()).days
    after = hit.end
    day = (after.astimezone(local_start.tzinfo).date()) - timedelta(days=1)
    for _ in range(_MAX_DAYS):
        day += timedelta(days=1)
        start = to_utc(datetime.combine(day, start_time), zone).replace(tzinfo=UTC)
        if start < after:
            continue
        end = to_utc(datetime.combine(day + timedelta(days=span_days), end_time), zone).replace(tzinfo=UTC)
        if end <= start:
            continue
        if is_taken(day):
            return Resolution(SKIP, hit.ident)
        other = blocked.first_overlap(start, end)
        if other is not None:
            after = max(after, other.end)
            continue
        return Resolution(NEXT, hit.ident, start, end)
    return Resolution(SKIP, hit.ident)
