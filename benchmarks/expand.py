"""Expansion speed: 1,000 weekly rules in mixed zones over 13 months, maintcal vs recurring-ical-events.

Builds 1,000 seeded-random weekly rules (days, local start/end, some crossing midnight) in zones
drawn from pytz's common zones, and the equivalent VEVENTs (DTSTART/DTEND with TZID and
RRULE:FREQ=WEEKLY;BYDAY=...). Expands both over [2027-01-01, 2028-02-01) UTC and prints the
occurrences per second of each and the ratio, then checks that both found the same UTC start and
end for every occurrence (recurring-ical-events reads pytz's tz database here, not the system's).
maintcal is timed best of 3, recurring-ical-events once (it takes ~15 s). Figures only, no assertions.

Run: ``python benchmarks/expand.py``
"""

from __future__ import annotations

import gc
import random
import sys
import time
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytz
import recurring_ical_events
from icalendar import Calendar, Event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from windows.expansion import expand
from windows.rules import WeeklyRule

RULES = 1000
SEED = 2027
REPEAT = 3
START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2028, 2, 1, tzinfo=UTC)  # 13 months
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
T = TypeVar("T")


def build_rules(rng: random.Random) -> list[WeeklyRule]:
    zones = sorted(pytz.common_timezones)
    rules = []
    for n in range(RULES):
        days = tuple(sorted(rng.sample(range(7), rng.randint(1, 3))))
        start = clock(rng.randrange(24), rng.choice((0, 15, 30, 45)))
        end = clock(rng.randrange(24), rng.choice((0, 15, 30, 45)))
        if end == start:
            end = clock((start.hour + 3) % 24, start.minute)
        rules.append(WeeklyRule("p", f"r{n}", rng.choice(zones), None, None, None, days=days, start=start, end=end))
    return rules


def build_calendar(rules: list[WeeklyRule]) -> Calendar:
    """The same rules as RFC 5545 recurring events, first occurrence just before the range."""
    calendar = Calendar()
    calendar.add("prodid", "-//maintcal//benchmark//EN")
    calendar.add("version", "2.0")
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    for rule in rules:
        zone = ZoneInfo(rule.timezone)
        first = START.date() - timedelta(days=8)
        while first.weekday() not in rule.days:
            first += timedelta(days=1)
        end_day = first + timedelta(days=1) if rule.crosses_midnight else first
        event = Event()
        event.add("uid", f"{rule.name}@bench")
        event.add("dtstamp", stamp)
        event.add("dtstart", datetime.combine(first, rule.start, tzinfo=zone))
        event.add("dtend", datetime.combine(end_day, rule.end, tzinfo=zone))
        event.add("rrule", {"freq": "weekly", "byday": [BYDAY[d] for d in rule.days]})
        calendar.add_component(event)
    return calendar


def with_maintcal(rules: list[WeeklyRule]) -> int:
    return sum(len(expand(rule, START, END)) for rule in rules)


def with_recurring_ical_events(calendar: Calendar) -> int:
    count = 0
    for event in recurring_ical_events.of(calendar).between(START, END):
        # Read the instants as maintcal returns them (UTC), so both do the same work.
        event["DTSTART"].dt.astimezone(UTC)
        event["DTEND"].dt.astimezone(UTC)
        count += 1
    return count


Instants = set[tuple[str, datetime, datetime]]


def instants(rules: list[WeeklyRule], calendar: Calendar) -> tuple[Instants, Instants]:
    """(rule, UTC start, UTC end) of every occurrence, from each library (not timed)."""
    ours = {(o.rule, o.start, o.end) for rule in rules for o in expand(rule, START, END)}
    theirs = {
        (str(e["UID"]).split("@")[0], e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC))
        for e in recurring_ical_events.of(calendar).between(START, END)
    }
    return ours, theirs


def best_of(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        began = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - began)
    assert result is not None
    return best, result


def main() -> None:
    # recurring-ical-events resolves TZIDs with zoneinfo: make it read pytz's tz database (the system's
    # may be an older release), so both libraries expand the same rules of the same zones.
    zoneinfo.reset_tzpath(to=[str(Path(pytz.__file__).parent / "zoneinfo")])
    rules = build_rules(random.Random(SEED))
    calendar = build_calendar(rules)
    zones = len({r.timezone for r in rules})
    print(f"{RULES} weekly rules in {zones} zones, {START:%Y-%m-%d} to {END:%Y-%m-%d} (13 months), best of {REPEAT}")
    ours_s, ours = best_of(REPEAT, lambda: with_maintcal(rules))
    print(f"  maintcal               {ours:>8,} occurrences in {ours_s:7.3f} s = {ours / ours_s:>10,.0f} occ/s")
    theirs_s, theirs = best_of(1, lambda: with_recurring_ical_events(calendar))
    print(f"  recurring-ical-events  {theirs:>8,} occurrences in {theirs_s:7.3f} s = {theirs / theirs_s:>10,.0f} occ/s")
    print(f"  ratio                  {theirs_s / ours_s:.1f}x faster")
    mine, other = instants(rules, calendar)
    print(f"  same instants: {len(mine & other):,} of {len(mine | other):,} occurrences agree to the second", end="")
    print(f"; only maintcal: {len(mine - other)}, only recurring-ical-events: {len(other - mine)}")


if __name__ == "__main__":
    main()
