"""Properties of rule expansion over random zones and random rules (hypothesis).

The oracle for local -> UTC is the standard library: ``zoneinfo`` reading the *same* TZif files that
pytz ships (``pytz.open_resource``), with ``fold=0``. PEP 495 maps a local time in a gap with the
offset before the transition and an ambiguous time to its first occurrence when ``fold=0``: exactly
the RFC 5545 §3.3.5 rule of DESIGN §2, computed by code that is not under test.
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
import pytz
from croniter import croniter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from windows.errors import InvalidInput
from windows.expansion import Occurrence, expand
from windows.rules import CronRule, OnceRule, Rule, WeeklyRule

ZONES = sorted(pytz.all_timezones)
EXAMPLES = int(os.environ.get("MAINTCAL_HYPOTHESIS_EXAMPLES", "150"))  # raise it for a long hunt
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def oracle_zone(name: str) -> ZoneInfo:
    with pytz.open_resource(name) as tzif:  # type: ignore[attr-defined]
        return ZoneInfo.from_file(tzif, key=name)


def oracle_utc(wall: datetime, zone: str) -> datetime:
    """RFC 5545 resolution of a naive wall-clock time, by zoneinfo (fold=0)."""
    return wall.replace(tzinfo=oracle_zone(zone), fold=0).astimezone(UTC)


def in_gap(wall: datetime, zone: str) -> bool:
    """A wall-clock time that does not exist (it does not survive a round trip through UTC)."""
    back = oracle_utc(wall, zone).astimezone(oracle_zone(zone)).replace(tzinfo=None)
    return back != wall


def true_local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(oracle_zone(zone))


def aware(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# -- strategies ---------------------------------------------------------------------------------

# Zones with DST (and other offset changes) today are where the bugs are: draw them more often.
CHANGING = [z for z in ZONES if len({oracle_utc(datetime(2026, m, 1), z).hour for m in range(1, 13)}) > 1]
zones = st.one_of(st.sampled_from(CHANGING), st.sampled_from(ZONES))
times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 29, 30, 45, 59]))
day_sets = st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s)))
# Around the usual transition months (Mar/Apr, Sep-Nov) half of the time.
# The whole accepted range, 1970-2199 (queries reach 400 days further), with the years around 2037
# drawn more often: there the transitions listed in the TZif files end and the zone's POSIX TZ rule
# takes over.
years = st.one_of(st.integers(1970, 2198), st.integers(2035, 2040))
first_days = st.one_of(
    st.dates(date(1970, 1, 1), date(2198, 11, 30)),
    st.builds(date, years, st.sampled_from([3, 4, 9, 10, 11]), st.integers(1, 28)),
)


@st.composite
def weekly_rules(draw: st.DrawFn) -> WeeklyRule:
    start = draw(times)
    end = draw(times.filter(lambda t: t != start))
    return WeeklyRule("p", "w", draw(zones), None, None, None, days=draw(day_sets), start=start, end=end)


@st.composite
def cron_rules(draw: st.DrawFn) -> CronRule:
    minutes = draw(st.sets(st.sampled_from([0, 5, 15, 30, 45, 59]), min_size=1, max_size=3))
    hours = draw(st.one_of(st.just("*"), st.sets(st.integers(0, 23), min_size=1, max_size=4)))
    dows = draw(st.one_of(st.sets(st.integers(0, 6), min_size=1, max_size=3), st.just("*")))
    hour_field = hours if isinstance(hours, str) else ",".join(map(str, sorted(hours)))
    dow_field = dows if isinstance(dows, str) else ",".join(map(str, sorted(dows)))
    expression = f"{','.join(map(str, sorted(minutes)))} {hour_field} * * {dow_field}"
    zone = draw(zones)
    probe = CronRule("p", "c", zone, None, None, None, expression=expression, duration=timedelta(minutes=1))
    longest = probe.min_interval or timedelta(days=7)
    most = max(1, min(int(longest.total_seconds() // 60), 7 * 1440))
    minutes_long = draw(st.one_of(st.just(most), st.integers(1, most)))  # as long as allowed: DST cuts it
    return CronRule("p", "c", zone, None, None, None, expression=expression, duration=timedelta(minutes=minutes_long))


@st.composite
def ranges(draw: st.DrawFn, max_days: int = 120) -> tuple[datetime, datetime]:
    first = draw(first_days)
    start = aware(first) + timedelta(minutes=draw(st.integers(0, 1439)))
    return start, start + timedelta(minutes=draw(st.integers(1, max_days * 1440)))


# -- shared checks ------------------------------------------------------------------------------


def check_common(occurrences: list[Occurrence], lo: datetime, hi: datetime) -> None:
    ids = [o.id for o in occurrences]
    assert len(ids) == len(set(ids)), "ids are unique"
    for o in occurrences:
        assert o.end > o.start
        assert o.start < hi and o.end > lo, "only occurrences overlapping the range"
        assert o.start.tzinfo is UTC and o.end.tzinfo is UTC
        # The local times shown are the true local times of the UTC instants, with their offset.
        # (Compared field by field: PEP 495 makes '==' false across zones for the second of two 01:30s.)
        for instant, shown in ((o.start, o.local_start), (o.end, o.local_end)):
            truth = true_local(instant, o.timezone)
            assert (shown.replace(tzinfo=None), shown.utcoffset()) == (truth.replace(tzinfo=None), truth.utcoffset())
    for a, b in itertools.pairwise(occurrences):
        assert a.end <= b.start, f"{a.id} overlaps {b.id}"


def check_stable(rule: Rule, lo: datetime, hi: datetime, cuts: list[int], **kw: str) -> None:
    """Expanding sub-ranges gives the same occurrences, by id, as expanding the whole range."""
    whole = {o.id: o for o in expand(rule, lo, hi, **kw)}
    span = (hi - lo).total_seconds()
    points = sorted({lo + timedelta(seconds=span * c / 1000) for c in cuts} | {lo, hi})
    pieces: dict[str, Occurrence] = {}
    for a, b in itertools.pairwise(points):
        if a == b:
            continue
        for o in expand(rule, a, b, **kw):
            assert whole[o.id] == o, f"{o.id} differs when expanded over [{a}, {b})"
            pieces[o.id] = o
    assert pieces.keys() == whole.keys()


# -- weekly -------------------------------------------------------------------------------------


@SETTINGS
@given(weekly_rules(), ranges())
def test_weekly_occurrences_follow_the_wall_clock(rule: WeeklyRule, query: tuple[datetime, datetime]) -> None:
    lo, hi = query
    occurrences = expand(rule, lo, hi)
    check_common(occurrences, lo, hi)
    shift = timedelta(days=1) if rule.end <= rule.start else timedelta(0)
    found = {o.local_date: o for o in occurrences}
    for o in occurrences:
        assert o.local_date.weekday() in rule.days
        assert o.id == f"p.w.{o.local_date:%Y%m%d}" and o.base_id == o.id and o.customer is None
        wall_start = datetime.combine(o.local_date, rule.start)
        wall_end = datetime.combine(o.local_date + shift, rule.end)
        # Each instant is resolved from local date + local time (RFC 5545), never start + length.
        assert o.start == oracle_utc(wall_start, rule.timezone)
        if not in_gap(wall_start, rule.timezone):
            assert o.local_start.replace(tzinfo=None) == wall_start
        if in_gap(wall_end, rule.timezone):
            assert o.end <= oracle_utc(wall_end, rule.timezone)  # may be cut at the next start
        else:
            assert o.end == oracle_utc(wall_end, rule.timezone)
            assert o.local_end.replace(tzinfo=None) == wall_end
    # Every rule day in the middle of the range has its occurrence, unless a gap swallowed it.
    day = (lo + timedelta(days=2)).date()
    while aware(day) + timedelta(days=3) < hi:
        if day.weekday() in rule.days and day not in found:
            wall_start = datetime.combine(day, rule.start)
            wall_end = datetime.combine(day + shift, rule.end)
            assert in_gap(wall_start, rule.timezone) or in_gap(wall_end, rule.timezone), f"{day} missing"
        day += timedelta(days=1)


@SETTINGS
@given(weekly_rules(), ranges(max_days=400), st.lists(st.integers(0, 1000), max_size=6))
def test_weekly_ids_and_instants_do_not_depend_on_the_query_range(
    rule: WeeklyRule, query: tuple[datetime, datetime], cuts: list[int]
) -> None:
    check_stable(rule, *query, cuts)


@SETTINGS
@given(weekly_rules(), zones, ranges(max_days=60))
def test_local_rules_expand_in_the_customer_zone(
    rule: WeeklyRule, customer_zone: str, query: tuple[datetime, datetime]
) -> None:
    local = WeeklyRule("p", "w", "local", None, None, None, days=rule.days, start=rule.start, end=rule.end)
    fixed = WeeklyRule("p", "w", customer_zone, None, None, None, days=rule.days, start=rule.start, end=rule.end)
    got = expand(local, *query, local_tz=customer_zone, customer="acme")
    want = expand(fixed, *query)
    assert [(o.id, o.base_id, o.customer) for o in got] == [(f"{o.id}.acme", o.id, "acme") for o in want]
    assert [(o.start, o.end, o.local_start, o.local_end, o.timezone) for o in got] == [
        (o.start, o.end, o.local_start, o.local_end, o.timezone) for o in want
    ]


# -- cron ---------------------------------------------------------------------------------------


def firing_of(rule: CronRule, o: Occurrence) -> datetime:
    """The naive local firing an occurrence comes from (from its id, or the day's only firing)."""
    if rule.several_per_day:
        hhmm = o.id.rsplit("T", 1)[1]
        return datetime.combine(o.local_date, time(int(hhmm[:2]), int(hhmm[2:])))
    it = croniter(rule.expression, datetime.combine(o.local_date, time(0)) - timedelta(minutes=1))
    firing: datetime = it.get_next(datetime)
    assert firing.date() == o.local_date
    return firing


@SETTINGS
@given(cron_rules(), ranges(max_days=30))
def test_cron_occurrences_start_at_local_firings_and_last_the_duration(
    rule: CronRule, query: tuple[datetime, datetime]
) -> None:
    lo, hi = query
    occurrences = expand(rule, lo, hi)
    check_common(occurrences, lo, hi)
    whole = expand(rule, lo - timedelta(days=8), hi + timedelta(days=8))
    following = {a.id: b for a, b in itertools.pairwise(whole)}
    for o in occurrences:
        firing = firing_of(rule, o)
        assert croniter.match(rule.expression, firing)
        assert o.start == oracle_utc(firing, rule.timezone)
        if not in_gap(firing, rule.timezone):
            assert o.local_start.replace(tzinfo=None) == firing
        # Elapsed duration, cut only where the next firing starts earlier (DST nights).
        nxt = following.get(o.id)
        assert o.end == min(o.start + rule.duration, nxt.start if nxt else o.start + rule.duration)
    # Several firings a day: ids carry THHMM; one a day: the date alone.
    for o in occurrences:
        suffix = o.id.removeprefix(f"p.c.{o.local_date:%Y%m%d}")
        assert (suffix.startswith("T") and len(suffix) == 5) if rule.several_per_day else suffix == ""


@SETTINGS
@given(cron_rules(), ranges(max_days=60), st.lists(st.integers(0, 1000), max_size=6))
def test_cron_ids_and_instants_do_not_depend_on_the_query_range(
    rule: CronRule, query: tuple[datetime, datetime], cuts: list[int]
) -> None:
    check_stable(rule, *query, cuts)


@st.composite
def weekly_crons(draw: st.DrawFn) -> CronRule:
    """Once a week, lasting the whole week: every DST change cuts one window at the next start."""
    minute, hour, dow = draw(st.integers(0, 59)), draw(st.integers(0, 23)), draw(st.integers(0, 6))
    zone = draw(st.sampled_from(CHANGING))
    return CronRule("p", "c", zone, None, None, None, expression=f"{minute} {hour} * * {dow}", duration=timedelta(7))


@SETTINGS
@given(weekly_crons(), ranges(max_days=5), st.lists(st.integers(0, 1000), max_size=3))
def test_long_cron_windows_are_cut_the_same_in_short_queries(
    rule: CronRule, query: tuple[datetime, datetime], cuts: list[int]
) -> None:
    lo, hi = query
    whole = {o.id: o for o in expand(rule, lo - timedelta(days=15), hi + timedelta(days=15))}
    for o in expand(rule, lo, hi):
        assert whole[o.id] == o
    check_stable(rule, lo, hi, cuts)


@SETTINGS
@given(cron_rules(), ranges(max_days=20))
def test_every_cron_firing_outside_a_gap_is_an_occurrence(rule: CronRule, query: tuple[datetime, datetime]) -> None:
    lo, hi = query
    got = {(o.local_date, o.start) for o in expand(rule, lo, hi)}
    it = croniter(rule.expression, (lo - timedelta(days=1)).replace(tzinfo=None))
    while True:
        firing: datetime = it.get_next(datetime)
        start = oracle_utc(firing, rule.timezone)
        if start >= hi:
            break
        if start >= lo and not in_gap(firing, rule.timezone):
            assert (firing.date(), start) in got, f"firing {firing} missing"


# -- one-off ------------------------------------------------------------------------------------


@SETTINGS
@given(zones, st.datetimes(datetime(1970, 1, 2), datetime(2199, 12, 24)), st.integers(1, 7 * 1440))
def test_one_off_resolves_both_ends_from_wall_clock(zone: str, wall: datetime, minutes: int) -> None:
    wall = wall.replace(second=0, microsecond=0)
    start, end = oracle_utc(wall, zone), oracle_utc(wall + timedelta(minutes=minutes), zone)
    if end <= start:  # wholly inside one gap: no such window
        with pytest.raises(InvalidInput, match="does not exist"):
            OnceRule("p", "o", zone, None, None, None, start=wall, end=wall + timedelta(minutes=minutes))
        return
    rule = OnceRule("p", "o", zone, None, None, None, start=wall, end=wall + timedelta(minutes=minutes))
    occurrences = expand(rule, start - timedelta(days=1), end + timedelta(days=1))
    assert [(o.id, o.start, o.end) for o in occurrences] == [(f"p.o.{wall:%Y%m%d}", start, end)]
    check_common(occurrences, start - timedelta(days=1), end + timedelta(days=1))
