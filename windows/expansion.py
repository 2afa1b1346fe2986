"""Expanding rules into occurrences: concrete windows with UTC and local start/end.

Weekly and one-off windows are wall-clock: start and end are each resolved from local date and
time (DESIGN §2), so "00:00-06:00" on a spring-forward night lasts 5 h. Cron windows resolve the
start and add the duration as elapsed time.

On a DST night a window can resolve to nothing (a window lying wholly inside a gap), or run into
the next occurrence of the same rule; it is then dropped or cut at the next start, so that the
occurrences of one rule never overlap. Both decisions depend only on neighbouring occurrences, so
an occurrence's id and times never depend on the query range.

>>> from datetime import time, timezone as tz
>>> rule = WeeklyRule("pe", "nightly", "America/New_York", None, None, None,
...                   days=(1,), start=time(0), end=time(6))
>>> [o.id for o in expand(rule, datetime(2027, 3, 1, tzinfo=tz.utc), datetime(2027, 3, 17, tzinfo=tz.utc))]
['pe.nightly.20270302', 'pe.nightly.20270309', 'pe.nightly.20270316']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from croniter import croniter

from windows.errors import InvalidInput
from windows.rules import CronRule, OnceRule, Rule, WeeklyRule
from windows.timezones import LOCAL, fixed_zone, offset_at, to_utc, zone_by_name

_UTC = UTC
_MARGIN = timedelta(days=2)


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
    zone = zone_by_name(zone_name)
    lo = start.astimezone(_UTC).replace(tzinfo=None)
    hi = end.astimezone(_UTC).replace(tzinfo=None)
    spans = _raw_spans(rule, zone, lo, hi)
    spans = _untangle(spans)
    result = []
    for local_day, hhmm, s, e in spans:
        if s < hi and e > lo:
            result.append(_make(rule, zone, zone_name, customer, local_day, hhmm, s, e))
    return result


# A span: (local start date, "HHMM" or None, naive UTC start, naive UTC end)
_Span = tuple[date, str | None, datetime, datetime]


def _raw_spans(rule: Rule, zone: tzinfo, lo: datetime, hi: datetime) -> list[_Span]:
    # Local dates that could start an occurrence touching [lo, hi), with a margin either side so
    # that neighbours needed by _untangle are present.
    first = (lo - _MARGIN - (rule.duration if isinstance(rule, CronRule) else timedelta(days=1))).date()
    last = (hi + _MARGIN).date()
    if isinstance(rule, WeeklyRule):
        return _weekly(rule, zone, first, last)
    if isinstance(rule, CronRule):
        return _cron(rule, zone, first, last)
    return _once(rule, zone)


def _weekly(rule: WeeklyRule, zone: tzinfo, first: date, last: date) -> list[_Span]:
    spans: list[_Span] = []
    day = first
    one = timedelta(days=1)
    end_shift = one if rule.crosses_midnight else timedelta(0)
    while day <= last:
        if day.weekday() in rule.days and rule.active_on(day):
            s = to_utc(datetime.combine(day, rule.start), zone)
            e = to_utc(datetime.combine(day + end_shift, rule.end), zone)
            spans.append((day, None, s, e))
        day += one
    return spans


def _cron(rule: CronRule, zone: tzinfo, first: date, last: date) -> list[_Span]:
    # Iterate naive local wall-clock times (croniter's own DST handling is not used), then resolve.
    spans = []
    it = croniter(rule.expression, datetime.combine(first, datetime.min.time()) - timedelta(minutes=1))
    several = rule.several_per_day
    while True:
        local = it.get_next(datetime)
        if local.date() > last:
            break
        if not rule.active_on(local.date()):
            continue
        s = to_utc(local, zone)
        spans.append((local.date(), local.strftime("%H%M") if several else None, s, s + rule.duration))
    return spans


def _once(rule: OnceRule, zone: tzinfo) -> list[_Span]:
    if not rule.active_on(rule.start.date()):
        return []
    return [(rule.start.date(), None, to_utc(rule.start, zone), to_utc(rule.end, zone))]


def _untangle(spans: list[_Span]) -> list[_Span]:
    """Drop spans overtaken by a later one (DST gaps), cut ends at the next start, drop empties."""
    kept: list[_Span] = []
    next_start: datetime | None = None
    for day, hhmm, s, e in reversed(spans):
        if next_start is not None and s >= next_start:
            continue
        if next_start is not None and e > next_start:
            e = next_start
        if e > s:
            kept.append((day, hhmm, s, e))
        next_start = s
    kept.reverse()
    return kept


def _make(
    rule: Rule,
    zone: tzinfo,
    zone_name: str,
    customer: str | None,
    local_day: date,
    hhmm: str | None,
    s: datetime,
    e: datetime,
) -> Occurrence:
    so, eo = offset_at(s, zone), offset_at(e, zone)
    base = base_occurrence_id(rule.product, rule.name, local_day, hhmm)
    return Occurrence(
        id=f"{base}.{customer}" if customer else base,
        base_id=base,
        product=rule.product,
        rule=rule.name,
        customer=customer,
        start=s.replace(tzinfo=_UTC),
        end=e.replace(tzinfo=_UTC),
        timezone=zone_name,
        local_start=(s + so).replace(tzinfo=fixed_zone(so)),
        local_end=(e + eo).replace(tzinfo=fixed_zone(eo)),
        local_date=local_day,
    )
