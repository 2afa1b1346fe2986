"""Expansion speed: 1,000 weekly rules in mixed zones over 13 months, maintcal vs two peers.

Builds 1,000 seeded-random weekly rules (days, local start/end, some crossing midnight) in zones
drawn from pytz's common zones, and expands them over [2027-01-01, 2028-02-01) UTC with:

- maintcal (``windows.expansion.expand``): ``Occurrence`` objects with ids, UTC and local times;
- dateutil ``rrule`` + ``zoneinfo``: the local start dates from ``rrule(WEEKLY, byweekday=...)``,
  start and end resolved as wall-clock times with ``ZoneInfo`` (``fold=0``: a time in a gap takes
  the offset before it, a repeated time its first occurrence, as maintcal's README "Time" section
  says), occurrences cut at the next start as maintcal does; it yields the UTC and local start and
  end of each occurrence (no ids, no objects: less work than maintcal does);
- recurring-ical-events on the equivalent VEVENTs (DTSTART/DTEND with TZID and
  RRULE:FREQ=WEEKLY;BYDAY=...).

The sides are timed in alternation (maintcal, dateutil, recurring-ical-events, then again) after one
untimed warm-up run of each; best and median of each are printed, with the ratios. Then the UTC
instants of each peer are compared with maintcal's: "agree: yes", or "NO" with the number of
differences and an example. Both peers read pytz's tz database here (zoneinfo's search path is set
to it), the same TZif files maintcal reads. Figures only, no assertions.

Run: ``python benchmarks/expand.py [--rounds N]`` (default 3; recurring-ical-events takes ~15 s a run).
"""

from __future__ import annotations

import argparse
import random
import sys
import zoneinfo
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytz
import recurring_ical_events
from dateutil.rrule import WEEKLY, rrule  # type: ignore[import-untyped]
from icalendar import Calendar, Event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alternating import Timed, alternate, load_average

from windows.expansion import expand
from windows.rules import WeeklyRule

RULES = 1000
SEED = 2027
START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2028, 2, 1, tzinfo=UTC)  # 13 months
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

Instant = tuple[str, datetime, datetime]  # (rule, UTC start, UTC end)


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


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def dateutil_occurrences(rule: WeeklyRule) -> list[tuple[datetime, datetime, datetime, datetime]]:
    """(UTC start, UTC end, local start, local end) of the rule's occurrences overlapping [START, END)."""
    zone = _zone(rule.timezone)
    # Local start dates that may touch the range, with a margin either side so that an occurrence
    # cut by the next one is cut here too: 3 days, as maintcal's (a window lasts at most a day and
    # offsets differ by at most 26 h, so a start further away can neither touch nor cut it).
    first = datetime.combine(START.date() - timedelta(days=3), rule.start)
    last = datetime.combine(END.date() + timedelta(days=3), rule.start)
    length = datetime.combine(START.date() + timedelta(days=1 if rule.crosses_midnight else 0), rule.end) - (
        datetime.combine(START.date(), rule.start)
    )  # wall-clock length: the end is the local date + days and the end time, resolved on its own
    spans = []
    for local in rrule(WEEKLY, byweekday=rule.days, dtstart=first, until=last):
        local_start = local.replace(tzinfo=zone)  # fold=0: gap -> offset before, fold -> first
        local_end = (local + length).replace(tzinfo=zone)
        spans.append((local_start.astimezone(UTC), local_end.astimezone(UTC), local_start, local_end))
    kept = []
    following: tuple[datetime, datetime] | None = None  # the next occurrence's UTC and local start
    for start, end, local_start, local_end in reversed(spans):  # as maintcal: cut at the next start
        if following is not None and start >= following[0]:
            continue
        if following is not None and end > following[0]:
            end, local_end = following
        if end > start and start < END and end > START:
            kept.append((start, end, local_start, local_end))
        following = start, local_start
    kept.reverse()
    return kept


def with_dateutil(rules: list[WeeklyRule]) -> int:
    return sum(len(dateutil_occurrences(rule)) for rule in rules)


def with_recurring_ical_events(calendar: Calendar) -> int:
    count = 0
    for event in recurring_ical_events.of(calendar).between(START, END):
        # Read the instants as maintcal returns them (UTC), so both do the same work.
        event["DTSTART"].dt.astimezone(UTC)
        event["DTEND"].dt.astimezone(UTC)
        count += 1
    return count


def maintcal_instants(rules: list[WeeklyRule]) -> set[Instant]:
    return {(o.rule, o.start, o.end) for rule in rules for o in expand(rule, START, END)}


def dateutil_instants(rules: list[WeeklyRule]) -> set[Instant]:
    return {(rule.name, s, e) for rule in rules for s, e, _, _ in dateutil_occurrences(rule)}


def ical_instants(calendar: Calendar) -> set[Instant]:
    return {
        (str(e["UID"]).split("@")[0], e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC))
        for e in recurring_ical_events.of(calendar).between(START, END)
    }


def agreement(ours: set[Instant], theirs: set[Instant], peer: str) -> str:
    only_ours, only_theirs = sorted(ours - theirs), sorted(theirs - ours)
    if not only_ours and not only_theirs:
        return f"agree: yes ({len(ours):,} occurrences, same UTC start and end to the second)"
    example = ""
    if only_ours:
        rule, s, e = only_ours[0]
        twin = [t for t in only_theirs if t[0] == rule and abs((t[1] - s).total_seconds()) < 2 * 86400]
        example = f"; e.g. maintcal {rule} {s:%Y-%m-%d %H:%MZ}-{e:%Y-%m-%d %H:%MZ}"
        if twin:
            example += f", {peer} {twin[0][1]:%Y-%m-%d %H:%MZ}-{twin[0][2]:%Y-%m-%d %H:%MZ}"
    elif only_theirs:
        rule, s, e = only_theirs[0]
        example = f"; e.g. only {peer}: {rule} {s:%Y-%m-%d %H:%MZ}-{e:%Y-%m-%d %H:%MZ}"
    return f"agree: NO ({len(only_ours)} only in maintcal, {len(only_theirs)} only in {peer}{example})"


def line(timed: Timed, reference: Timed | None) -> str:
    count = timed.result
    ratio = ""
    if reference is not None:
        wall, cpu = timed.median / reference.median, timed.cpu_median / reference.cpu_median
        ratio = f"   maintcal {wall:.2f}x faster (wall medians), {cpu:.2f}x (CPU medians)"
    return (
        f"  {timed.name:<23} {count:>8,} occ  wall best {timed.best:6.3f} s, median {timed.median:6.3f} s"
        f"  CPU median {timed.cpu_median:6.3f} s  = {count / timed.best:>8,.0f} occ/s (best){ratio}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each side (default 3)")
    parser.add_argument("--no-ical", action="store_true", help="leave out recurring-ical-events (slow)")
    args = parser.parse_args()
    # The peers resolve TZIDs with zoneinfo: make it read pytz's tz database (the system's may be an
    # older release), so every side expands the same rules of the same zones.
    zoneinfo.reset_tzpath(to=[str(Path(pytz.__file__).parent / "zoneinfo")])
    rules = build_rules(random.Random(SEED))
    calendar = build_calendar(rules)
    zones = len({r.timezone for r in rules})
    sides = [("maintcal", lambda: with_maintcal(rules)), ("dateutil rrule+zoneinfo", lambda: with_dateutil(rules))]
    if not args.no_ical:
        sides.append(("recurring-ical-events", lambda: with_recurring_ical_events(calendar)))
    print(
        f"{RULES} weekly rules in {zones} zones, {START:%Y-%m-%d} to {END:%Y-%m-%d} (13 months); "
        f"one warm-up run each, then {args.rounds} rounds alternating the sides; load average {load_average()}"
    )
    results = alternate(sides, args.rounds)
    ours = results[0]
    for timed in results:
        print(line(timed, None if timed is ours else ours))
    mine = maintcal_instants(rules)
    print("  dateutil rrule+zoneinfo " + agreement(mine, dateutil_instants(rules), "dateutil"))
    if not args.no_ical:
        print("  recurring-ical-events   " + agreement(mine, ical_instants(calendar), "recurring-ical-events"))
    print(f"  load average after: {load_average()}")


if __name__ == "__main__":
    main()
