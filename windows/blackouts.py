"""Blackout specs and their expansion to UTC intervals (DESIGN §9, issue 14).

A customer's blackout is declared in the customer's zone, in one of three shapes:

- ``once``: a local start and end (end exclusive), ``2027-11-22T00:00`` to ``2027-11-30T00:00``;
- ``yearly``: whole local days every year, ``11-22:11-30`` (both days included; ``12-20:01-04``
  runs over the new year);
- ``monthly``: whole local days every month, ``last-3`` (the last 3 days) or ``1-2`` (days 1 and
  2; a day past the month's end means its last day).

Every boundary is local midnight (or the given local time) resolved in the zone with the RFC 5545
rules of DESIGN §2, so a blackout over a DST change is 23 h or 25 h a day, like the wall clock.

>>> from datetime import UTC
>>> spec = parse_yearly("11-22:11-30")
>>> [(s.isoformat(), e.isoformat()) for s, e in intervals(spec, "America/New_York",
...     datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))]
[('2027-11-22T05:00:00+00:00', '2027-12-01T05:00:00+00:00')]
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from windows.errors import InvalidInput
from windows.parsing import parse_local_datetime
from windows.timezones import to_utc, zone_by_name

ONCE, YEARLY, MONTHLY = "once", "yearly", "monthly"
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2}):(\d{2})-(\d{2})$")
_LAST = re.compile(r"^last-(\d{1,2})$")
_DAYS = re.compile(r"^(\d{1,2})-(\d{1,2})$")


@dataclass(frozen=True)
class BlackoutSpec:
    """One blackout's shape; local times are naive wall-clock times of the customer's zone."""

    kind: str  # once | yearly | monthly
    start: datetime | None = None  # once
    end: datetime | None = None  # once, exclusive
    first_day: tuple[int, int] | None = None  # yearly (month, day), included
    last_day: tuple[int, int] | None = None  # yearly (month, day), included
    last_days: int | None = None  # monthly "last-N"
    days: tuple[int, int] | None = None  # monthly "D1-D2", both included

    def text(self) -> str:
        """The spec as typed: ``2027-11-22T00:00/2027-11-30T00:00``, ``11-22:11-30``, ``last-3``, ``1-2``."""
        if self.kind == ONCE:
            assert self.start and self.end
            return f"{self.start:%Y-%m-%dT%H:%M}/{self.end:%Y-%m-%dT%H:%M}"
        if self.kind == YEARLY:
            assert self.first_day and self.last_day
            return "{:02d}-{:02d}:{:02d}-{:02d}".format(*self.first_day, *self.last_day)
        if self.last_days is not None:
            return f"last-{self.last_days}"
        assert self.days
        return f"{self.days[0]}-{self.days[1]}"


def parse_once(start: str, end: str) -> BlackoutSpec:
    """``--start LOCAL --end LOCAL``: end exclusive, after start, at most a year later."""
    first, last = parse_local_datetime(start), parse_local_datetime(end)
    if last <= first:
        raise InvalidInput(f"blackout end {end} is not after its start {start}")
    if last - first > timedelta(days=366):
        raise InvalidInput("a one-off blackout may last at most 366 days; use --yearly or --monthly for recurring ones")
    return BlackoutSpec(ONCE, start=first, end=last)


def parse_yearly(text: str) -> BlackoutSpec:
    """``MM-DD:MM-DD``, both days included (``02-29`` means Feb 28 in other years)."""
    match = _MONTH_DAY.match(text.strip())
    if not match:
        raise InvalidInput(f"invalid yearly blackout '{text}': use MM-DD:MM-DD, e.g. 11-22:11-30")
    m1, d1, m2, d2 = (int(g) for g in match.groups())
    for month, day in ((m1, d1), (m2, d2)):
        if not 1 <= month <= 12 or not 1 <= day <= monthrange(2028, month)[1]:
            raise InvalidInput(f"invalid yearly blackout '{text}': {month:02d}-{day:02d} is not a date")
    return BlackoutSpec(YEARLY, first_day=(m1, d1), last_day=(m2, d2))


def parse_monthly(text: str) -> BlackoutSpec:
    """``last-N`` (1 <= N <= 28) or ``D1-D2`` (1 <= D1 <= D2 <= 31)."""
    cleaned = text.strip()
    if match := _LAST.match(cleaned):
        count = int(match.group(1))
        if not 1 <= count <= 28:
            raise InvalidInput(f"invalid monthly blackout '{text}': last-N needs N from 1 to 28")
        return BlackoutSpec(MONTHLY, last_days=count)
    if match := _DAYS.match(cleaned):
        first, last = int(match.group(1)), int(match.group(2))
        if not 1 <= first <= last <= 31:
            raise InvalidInput(f"invalid monthly blackout '{text}': days D1-D2 need 1 <= D1 <= D2 <= 31")
        return BlackoutSpec(MONTHLY, days=(first, last))
    raise InvalidInput(f"invalid monthly blackout '{text}': use last-N (e.g. last-3) or D1-D2 (e.g. 1-2)")


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, monthrange(year, month)[1]))


def local_spans(spec: BlackoutSpec, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """Naive local [start, end) spans of ``spec`` that may touch local days ``first``..``last``."""
    if spec.kind == ONCE:
        assert spec.start and spec.end
        return [(spec.start, spec.end)]
    spans: list[tuple[datetime, datetime]] = []
    if spec.kind == YEARLY:
        assert spec.first_day and spec.last_day
        wraps = spec.last_day < spec.first_day
        for year in range(first.year - 1, last.year + 1):
            begin = _clamped(year, *spec.first_day)
            finish = _clamped(year + 1 if wraps else year, *spec.last_day)
            spans.append((_midnight(begin), _midnight(finish + timedelta(days=1))))
        return spans
    year, month = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
    while date(year, month, 1) <= last:
        size = monthrange(year, month)[1]
        if spec.last_days is not None:
            begin, finish = date(year, month, max(1, size - spec.last_days + 1)), date(year, month, size)
        else:
            assert spec.days
            begin, finish = _clamped(year, month, spec.days[0]), _clamped(year, month, spec.days[1])
        spans.append((_midnight(begin), _midnight(finish + timedelta(days=1))))
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return spans


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def intervals(spec: BlackoutSpec, zone_name: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Aware UTC [start, end) intervals of ``spec`` in zone ``zone_name`` overlapping [start, end).

    >>> spec = parse_monthly("last-2")   # Europe/London: BST ends on Sunday 2027-10-31
    >>> [(s.isoformat(), e.isoformat()) for s, e in intervals(spec, "Europe/London",
    ...     datetime(2027, 10, 15, tzinfo=UTC), datetime(2027, 11, 15, tzinfo=UTC))]
    [('2027-10-29T23:00:00+00:00', '2027-11-01T00:00:00+00:00')]
    """
    zone = zone_by_name(zone_name)
    first = (start - timedelta(days=2)).date()
    last = (end + timedelta(days=2)).date()
    result = []
    for lo, hi in local_spans(spec, first, last):
        utc_lo = to_utc(lo, zone).replace(tzinfo=UTC)
        utc_hi = to_utc(hi, zone).replace(tzinfo=UTC)
        if utc_lo < end and utc_hi > start:
            result.append((utc_lo, utc_hi))
    return result
