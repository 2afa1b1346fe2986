"""Expanding rules into occurrences: concrete windows with UTC and local start/end.

Weekly and one-off windows are wall-clock: start and end are each resolved from local date and
time (DESIGN §2), so "00:00-06:00" on a spring-forward night lasts 5 h. Cron windows resolve the
start and add the duration as elapsed time.

On a DST night a window can resolve to nothing (a window lying wholly inside a gap), or run into
the next occurrence of the same rule; it is then dropped or cut at the next start, so that the
occurrences of one rule never overlap. Both decisions depend only on neighbouring occurrences, so
an occurrence's id and times never depend on the query range.

A rule's history begins at its ``since`` instant (when it was added): earlier occurrences, and
one in progress then, are dropped, unless the rule's explicit ``valid_from`` reaches back before
it; they are then kept and marked ``imported``. Dropping happens after untangling, so it never
changes the ids or times of the occurrences that remain.

>>> from datetime import time, timezone as tz
>>> rule = WeeklyRule("pe", "nightly", "America/New_York", None, None, None,
...                   days=(1,), start=time(0), end=time(6))
>>> [o.id for o in expand(rule, datetime(2027, 3, 1, tzinfo=tz.utc), datetime(2027, 3, 17, tzinfo=tz.utc))]
['pe.nightly.20270302', 'pe.nightly.20270309', 'pe.nightly.20270316']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from windows.errors import InvalidInput
from windows.rules import CronRule, OnceRule, Rule, WeeklyRule
from windows.timezones import EPOCH_ORDINAL, LOCAL, LocalClock, fixed_zone_seconds, seconds_of, zone_by_name

_UTC = UTC
_DAY = 86400
_MARGIN = 2 * _DAY


@dataclass(frozen=True)
class Occurrence:
    """One concrete window. ``start``/``end`` are aware UTC; local ones carry their offset."""

    id: str
    base_id: str  # the id without the customer suffix: what product-wide changes refer to
    product: str
    rule: str
    customer: str | None
    start: datetime
    end: datetime
    timezone: str
    local_start: datetime
    local_end: datetime
    local_date: date
    kind: str = "planned"
    imported: bool = False  # history before the rule was added, imported by an explicit valid_from

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def base_occurrence_id(product: str, rule: str, local_date: date, hhmm: str | None = None) -> str:
    """``<product>.<rule>.<YYYYMMDD>[THHMM]`` (the time only for crons firing several times a day)."""
    return f"{product}.{rule}.{local_date:%Y%m%d}" + (f"T{hhmm}" if hhmm else "")


def expand(
    rule: Rule,
    start: datetime,
    end: datetime,
    *,
    local_tz: str | None = None,
    customer: str | None = None,
) -> list[Occurrence]:
    """Occurrences of ``rule`` overlapping [start, end), ordered by start.

    ``local_tz`` (and ``customer``, for the id) are required for rules in zone ``local``.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("expand() needs aware datetimes")
    zone_name = rule.timezone
    if rule.timezone == LOCAL:
        if not local_tz:
            raise InvalidInput(f"rule '{rule.name}' of {rule.product} uses the customer's local time: name a customer")
        zone_name = local_tz
    else:
        customer = None
    clock = LocalClock(zone_by_name(zone_name))
    # Instants are whole seconds since 1970-01-01 (UTC, or local wall clock) until the end.
    lo = seconds_of(start.astimezone(_UTC).replace(tzinfo=None))
    hi = seconds_of(end.astimezone(_UTC).replace(tzinfo=None))
    spans = _untangle(_raw_spans(rule, clock, lo, hi))
    since = seconds_of(rule.since.astimezone(_UTC).replace(tzinfo=None)) if rule.since is not None else None
    imports = rule.valid_from is not None
    prefix = f"{rule.product}.{rule.name}."
    suffix = f".{customer}" if customer else ""
    product, name = rule.product, rule.name
    from_utc, fixed, day_of, steps = datetime.fromtimestamp, fixed_zone_seconds, _day, _Steps()
    result = []
    # Each occurrence's datetimes are the previous one's plus the (cached) step between them: the
    # same values as datetime.fromtimestamp gives, at a fifth of the cost. A local time whose offset
    # changed since the previous occurrence (DST) is made afresh.
    previous: tuple[int, int, int, int, datetime, datetime, datetime, datetime] | None = None
    for ordinal, hhmm, s, e, s_offset, e_offset in spans:
        if s < hi and e > lo:
            imported = since is not None and s < since
            if imported and not imports:
                continue
            if previous is None:
                start_at, end_at = from_utc(s, _UTC), from_utc(e, _UTC)
                local_start, local_end = from_utc(s, fixed(s_offset)), from_utc(e, fixed(e_offset))
            else:
                s0, e0, s_offset0, e_offset0, start_at, end_at, local_start, local_end = previous
                s_step, e_step = steps[s - s0], steps[e - e0]
                start_at, end_at = start_at + s_step, end_at + e_step
                local_start = local_start + s_step if s_offset == s_offset0 else from_utc(s, fixed(s_offset))
                local_end = local_end + e_step if e_offset == e_offset0 else from_utc(e, fixed(e_offset))
            previous = s, e, s_offset, e_offset, start_at, end_at, local_start, local_end
            local_date, yyyymmdd = day_of(ordinal)
            base = prefix + yyyymmdd + ("T" + hhmm if hhmm else "")
            # Occurrence(...) with its fields in order, built without the frozen dataclass's __init__
            # (one object.__setattr__ per field): the same object, a third of the cost when expanding
            # many (tests/unit/test_expansion_tables.py checks it equals the constructor's).
            occurrence = _new(Occurrence)
            _set(
                occurrence,
                "__dict__",
                {
                    "id": base + suffix,
                    "base_id": base,
                    "product": product,
                    "rule": name,
                    "customer": customer,
                    "start": start_at,
                    "end": end_at,
                    "timezone": zone_name,
                    "local_start": local_start,
                    "local_end": local_end,
                    "local_date": local_date,
                    "kind": "planned",
                    "imported": imported,
                },
            )
            result.append(occurrence)
    return result


class _Steps(dict[int, timedelta]):
    """``timedelta(seconds=n)`` for each ``n`` asked, made once."""

    def __missing__(self, seconds: int) -> timedelta:
        step = self[seconds] = timedelta(seconds=seconds)
        return step


_new, _set = object.__new__, object.__setattr__


# A span: (local start date as an ordinal, "HHMM" or None, UTC start seconds, UTC end seconds, and
# the zone's UTC offset in seconds at the start and at the end)
_Span = tuple[int, str | None, int, int, int, int]


@lru_cache(maxsize=4096)
def _day(ordinal: int) -> tuple[date, str]:
    day = date.fromordinal(ordinal)
    return day, f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _bounds(rule: Rule) -> tuple[int, int]:
    """The ordinals of the first and last local dates the rule may start on."""
    first = rule.valid_from.toordinal() if rule.valid_from else 0
    last = rule.valid_until.toordinal() if rule.valid_until else 10**9
    return first, last


def _raw_spans(rule: Rule, clock: LocalClock, lo: int, hi: int) -> list[_Span]:
    # Local dates that could start an occurrence touching [lo, hi), with a margin either side so
    # that neighbours needed by _untangle are present. A cron window lasts up to 7 days, so the next
    # firing that may cut it can lie that far ahead.
    longest = int(rule.duration.total_seconds()) if isinstance(rule, CronRule) else _DAY
    first = EPOCH_ORDINAL + (lo - _MARGIN - longest) // _DAY
    last = EPOCH_ORDINAL + (hi + _MARGIN + longest) // _DAY
    valid_first, valid_last = _bounds(rule)
    first, last = max(first, valid_first), min(last, valid_last)
    if isinstance(rule, WeeklyRule):
        return _weekly(rule, clock, first, last)
    if isinstance(rule, CronRule):
        return _cron(rule, clock, first, last)
    return _once(rule, clock)


def _weekly(rule: WeeklyRule, clock: LocalClock, first: int, last: int) -> list[_Span]:
    start = rule.start.hour * 3600 + rule.start.minute * 60
    end = rule.end.hour * 3600 + rule.end.minute * 60 + (_DAY if rule.crosses_midnight else 0)
    # date.fromordinal(1) is a Monday (weekday 0): weekday d falls on ordinals = d + 1 modulo 7.
    ordinals = sorted(o for d in rule.days for o in range(first + (d + 1 - first) % 7, last + 1, 7))
    midnights = [(ordinal - EPOCH_ORDINAL) * _DAY for ordinal in ordinals]
    starts, start_offsets = clock.resolve_all([midnight + start for midnight in midnights])
    ends, end_offsets = clock.resolve_all([midnight + end for midnight in midnights])
    return list(zip(ordinals, [None] * len(ordinals), starts, ends, start_offsets, end_offsets, strict=True))


def _cron(rule: CronRule, clock: LocalClock, first: int, last: int) -> list[_Span]:
    # Iterate naive local wall-clock times (croniter's own DST handling is not used), then resolve.
    spans: list[_Span] = []
    if first > last:
        return spans
    several = rule.several_per_day
    duration = int(rule.duration.total_seconds())
    offset = clock.offset
    for local in rule.firings(date.fromordinal(first), date.fromordinal(last)):
        s = clock.utc(seconds_of(local))
        hhmm = f"{local.hour:02d}{local.minute:02d}" if several else None
        spans.append((local.toordinal(), hhmm, s, s + duration, offset(s), offset(s + duration)))
    return spans


def _once(rule: OnceRule, clock: LocalClock) -> list[_Span]:
    if not rule.active_on(rule.start.date()):
        return []
    start, end = clock.utc(seconds_of(rule.start)), clock.utc(seconds_of(rule.end))
    return [(rule.start.toordinal(), None, start, end, clock.offset(start), clock.offset(end))]


def _untangle(spans: list[_Span]) -> list[_Span]:
    """Drop spans overtaken by a later one (DST gaps), cut ends at the next start, drop empties."""
    kept: list[_Span] = []
    next_start: int | None = None
    next_offset = 0
    for day, hhmm, s, e, s_offset, e_offset in reversed(spans):
        if next_start is not None and s >= next_start:
            continue
        if next_start is not None and e > next_start:
            e, e_offset = next_start, next_offset
        if e > s:
            kept.append((day, hhmm, s, e, s_offset, e_offset))
        next_start, next_offset = s, s_offset
    kept.reverse()
    return kept
