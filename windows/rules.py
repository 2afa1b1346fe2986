"""Window rules: weekly, cron and one-off, validated on construction.

A rule belongs to a product and has a name (slug) unique within it. Its zone is an IANA name or
``local`` (the subscribing customer's zone). ``valid_from``/``valid_until`` bound the local start
dates of its occurrences (both inclusive). A rule whose ``valid_until`` lies before its
``valid_from`` has no occurrences at all: that is how a window retired before its first day is
stored. Input is checked strictly elsewhere (``windows.rulespec.build_rule`` refuses such a pair).

``since`` is the instant the rule (in its current shape) was added. Occurrences starting before it
are not part of the rule, unless ``valid_from`` asks for them explicitly: they are then *imported*
history (marked on the occurrence; not judged against the notice deadline, not counted by the SLA).
An occurrence already in progress at ``since`` started before it, so the same applies to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property

from croniter import CroniterError, croniter

from windows.errors import InvalidInput
from windows.parsing import check_slug, format_days, format_duration, format_time_of_day
from windows.timezones import LOCAL, resolve_zone, to_utc, zone_by_name

MAX_DURATION = timedelta(days=7)
# A rule may fire at most this many times on one local day (every 30 minutes at most): more makes
# feeds, listings and expansions grow without bound (issue 10). Checked on input (``build_rule``).
MAX_FIRINGS_PER_DAY = 48


@dataclass(frozen=True)
class _RuleBase:
    product: str
    name: str
    timezone: str
    valid_from: date | None
    valid_until: date | None
    label: str | None
    since: datetime | None = None  # aware UTC: when the rule (in its current shape) was added

    def _check_common(self) -> list[str]:
        problems = []
        for value, what in ((self.product, "product key"), (self.name, "rule name")):
            try:
                check_slug(value, what)
            except InvalidInput as error:
                problems.append(error.message)
        if self.timezone != LOCAL:
            try:
                resolve_zone(self.timezone)
            except InvalidInput as error:
                problems.append(error.message)
        if self.since is not None and self.since.tzinfo is None:
            problems.append("a rule's 'since' instant must be aware (UTC)")
        if self.label is not None and (len(self.label) > 200 or any(c in self.label for c in "\r\n\x00")):
            problems.append("a label is one line of at most 200 characters")
        return problems

    @property
    def is_local(self) -> bool:
        return self.timezone == LOCAL

    @property
    def retired_before_start(self) -> bool:
        """True for a rule retired before its first day: it has no occurrences at all."""
        return self.valid_from is not None and self.valid_until is not None and self.valid_until < self.valid_from

    def active_on(self, day: date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (
            self.valid_until is None or day <= self.valid_until
        )


@dataclass(frozen=True)
class WeeklyRule(_RuleBase):
    """Days of week with a local start and end; end <= start crosses midnight."""

    days: tuple[int, ...] = ()
    start: time = time(0)
    end: time = time(0)
    kind: str = field(default="weekly", init=False)

    def __post_init__(self) -> None:
        problems = self._check_common()
        if not self.days:
            problems.append("no days given: use --days like tue,thu or tue-thu")
        if self.start == self.end:
            problems.append(f"start and end are both {format_time_of_day(self.start)}: a window needs a length")
        _raise(problems)

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def describe(self) -> str:
        return f"{format_days(self.days)} {format_time_of_day(self.start)}-{format_time_of_day(self.end)}"


@dataclass(frozen=True)
class _CronFields:
    times: tuple[time, ...]  # firing times of a matching day, ascending
    doms: frozenset[int] | None  # None: '*'
    months: frozenset[int] | None
    dows: frozenset[int] | None  # cron numbering: 0 = Sunday

    def matches(self, day: date) -> bool:
        if self.months is not None and day.month not in self.months:
            return False
        dom = self.doms is None or day.day in self.doms
        dow = self.dows is None or day.isoweekday() % 7 in self.dows
        if self.doms is not None and self.dows is not None:
            return dom or dow  # both restricted: either matches (cron's rule)
        return dom and dow


@dataclass(frozen=True)
class CronRule(_RuleBase):
    """A five-field cron expression in local wall-clock time, plus an elapsed duration."""

    expression: str = ""
    duration: timedelta = timedelta(0)
    kind: str = field(default="cron", init=False)

    def __post_init__(self) -> None:
        problems = self._check_common()
        if len(self.expression.split()) != 5 or len(self.expression) > 120 or not croniter.is_valid(self.expression):
            problems.append(f"invalid cron expression '{self.expression}': use five fields, e.g. '0 2 * * sun'")
        if self.duration <= timedelta(0):
            problems.append("duration must be longer than zero")
        elif self.duration > MAX_DURATION:
            problems.append(f"duration {format_duration(self.duration)} is longer than 7 days")
        if not problems:
            try:
                gap = self.min_interval
                fires = next(self.firings(date(2026, 1, 1), date(2034, 12, 31)), None) is not None
            except CroniterError:
                fires = False
            if not fires:
                _raise([f"cron expression '{self.expression}' never fires (no such date): check day and month"])
            if gap is not None and self.duration > gap:
                problems.append(
                    f"duration {format_duration(self.duration)} is longer than the {format_duration(gap)} "
                    "between firings: occurrences would overlap"
                )
        _raise(problems)

    @cached_property
    def _fields(self) -> _CronFields | None:
        """The expanded fields when they are plain values (no L, #, W): then firings need no croniter."""
        it = croniter(self.expression)
        expanded = it.expanded
        if it.nth_weekday_of_month or it.nearest_weekday:
            return None
        if any(f != ["*"] and not all(isinstance(v, int) for v in f) for f in expanded):
            return None
        minutes, hours, doms, months, dows = (None if f == ["*"] else frozenset(int(v) for v in f) for f in expanded)
        times = tuple(time(h, m) for h in sorted(hours or range(24)) for m in sorted(minutes or range(60)))
        return _CronFields(times, doms, months, dows)

    def firings(self, first: date, last: date) -> Iterator[datetime]:
        """Naive local wall-clock firings on the local dates ``first`` to ``last``, in order.

        Same schedule as croniter (day of month and day of week are OR-ed when both are given),
        computed directly from the expanded fields: croniter is only used for L, # and W.

        >>> rule = CronRule("p", "c", "UTC", None, None, None, expression="0 9,17 * * sat", duration=timedelta(hours=1))
        >>> [f"{t:%a %d %H:%M}" for t in rule.firings(date(2027, 3, 1), date(2027, 3, 7))]
        ['Sat 06 09:00', 'Sat 06 17:00']
        """
        fields = self._fields
        if fields is None:
            it = croniter(self.expression, datetime.combine(first, time(0)) - timedelta(minutes=1))
            while (current := it.get_next(datetime)).date() <= last:
                yield current
            return
        day, one = first, timedelta(days=1)
        while day <= last:
            if fields.matches(day):
                for at in fields.times:
                    yield datetime.combine(day, at)
            day += one

    @cached_property
    def several_per_day(self) -> bool:
        fields = self._fields
        if fields is not None:
            return len(fields.times) > 1
        return cron_firings_per_day(self.expression) > 1

    @cached_property
    def min_interval(self) -> timedelta | None:
        """The shortest wall-clock gap between firings over three years (None if it fires once)."""
        previous: datetime | None = None
        shortest: timedelta | None = None
        for count, current in enumerate(self.firings(date(2026, 1, 1), date(2028, 12, 31))):
            if count == 5000:
                break
            if previous is not None:
                gap = current - previous
                shortest = gap if shortest is None else min(shortest, gap)
            previous = current
        return shortest

    def describe(self) -> str:
        return f"cron '{self.expression}' for {format_duration(self.duration)}"


@dataclass(frozen=True)
class OnceRule(_RuleBase):
    """A single window from a local start to a local end datetime."""

    start: datetime = datetime(1970, 1, 1)
    end: datetime = datetime(1970, 1, 1)
    kind: str = field(default="once", init=False)

    def __post_init__(self) -> None:
        problems = self._check_common()
        if self.end <= self.start:
            problems.append(f"one-off end {self.end:%Y-%m-%dT%H:%M} is not after its start {self.start:%Y-%m-%dT%H:%M}")
        elif self.end - self.start > MAX_DURATION:
            problems.append("a one-off window may last at most 7 days")
        elif not problems and not self.is_local:
            zone = zone_by_name(self.timezone)
            if to_utc(self.end, zone) <= to_utc(self.start, zone):
                problems.append(
                    f"one-off window {self.start:%Y-%m-%dT%H:%M}-{self.end:%H:%M} does not exist in {self.timezone}: "
                    "it lies in the time skipped when clocks go forward"
                )
        _raise(problems)

    def describe(self) -> str:
        return f"once {self.start:%Y-%m-%dT%H:%M}-{self.end:%Y-%m-%dT%H:%M}"


Rule = WeeklyRule | CronRule | OnceRule


def cron_firings_per_day(expression: str) -> int:
    """The most firings of a (valid) cron expression on one local date: minutes x hours.

    The day fields only pick the dates; firings are wall-clock times of a local date, so a DST
    day has no more of them than any other.

    >>> cron_firings_per_day("*/15 9-10 * * mon"), cron_firings_per_day("* * * * *")
    (8, 1440)
    """
    # croniter expands '*' to ['*'], not to the list of values.
    minutes, hours = croniter(expression).expanded[:2]
    return (60 if minutes == ["*"] else len(set(minutes))) * (24 if hours == ["*"] else len(set(hours)))


def check_cron_frequency(expression: str) -> None:
    """Refuse a cron expression that fires more than ``MAX_FIRINGS_PER_DAY`` times on some day.

    An invalid expression passes here: ``CronRule`` reports it.

    >>> check_cron_frequency("*/20 * * * *")
    Traceback (most recent call last):
    windows.errors.InvalidInput: cron '*/20 * * * *' fires 72 times a day; at most 48 are allowed
    """
    if len(expression.split()) != 5 or len(expression) > 120 or not croniter.is_valid(expression):
        return
    count = cron_firings_per_day(expression)
    if count > MAX_FIRINGS_PER_DAY:
        raise InvalidInput(f"cron '{expression}' fires {count} times a day; at most {MAX_FIRINGS_PER_DAY} are allowed")


def _raise(problems: list[str]) -> None:
    if len(problems) == 1:
        raise InvalidInput(problems[0])
    if problems:
        raise InvalidInput("; ".join(problems))


def rules_overlap_warning(rules: list[Rule]) -> list[str]:
    """Warnings for weekly rules of one product whose windows overlap in the same zone."""
    warnings = []
    weekly = [r for r in rules if isinstance(r, WeeklyRule)]
    for i, a in enumerate(weekly):
        for b in weekly[i + 1 :]:
            if a.timezone == b.timezone and _weekly_overlap(a, b):
                warnings.append(
                    f"rules '{a.name}' and '{b.name}' of {a.product} overlap ({a.describe()} / {b.describe()})"
                )
    return warnings


def _week_minutes(rule: WeeklyRule) -> list[tuple[int, int]]:
    spans = []
    for day in rule.days:
        start = day * 1440 + rule.start.hour * 60 + rule.start.minute
        end = day * 1440 + rule.end.hour * 60 + rule.end.minute + (1440 if rule.crosses_midnight else 0)
        spans.append((start, end))
        if end > 7 * 1440:
            spans.append((start - 7 * 1440, end - 7 * 1440))
    return spans


def _weekly_overlap(a: WeeklyRule, b: WeeklyRule) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in _week_minutes(a) for s2, e2 in _week_minutes(b))
