"""SLA calculator speed: 2,000 subscriber-months of realistic data, maintcal vs two peers.

Each of the 2,000 months (seeded random, in one of a few contract zones) has what a real month has:

- 4-5 weekly maintenance windows of 1-4 h; most announced 30-60 days ahead, a few agreed by the
  customer, 1 in 100 announced late (so it counts as downtime), 1 in 100 unplanned (15-45 min);
- 0-6 outages of 2-45 minutes, wherever they fall (one inside a window is excluded with it).

Availability then lies around 99.5-99.95 %, as for a real service (printed: the spread, and the
outage seconds generated against the downtime counted). Three sides compute E (excluded seconds)
and D (downtime seconds) of every month:

- maintcal: ``windows.sla.compute_sla`` (which also judges each window with its reason, and works
  out the exact availability, target verdict, credit and error budget: more than the peers do);
- a plain sort-and-sweep: the same rules written the obvious way (qualifying windows sorted and
  merged, then the downtime spans sorted and swept against them, clipped to the month);
- ``portion``: one n-ary union per set (its fastest path), then difference and intersection.

The sides alternate (one untimed warm-up run each, then ``--rounds`` rounds); best and median wall
time and median CPU time are printed with the ratios, and whether E and D agree to the second for
every month. ``--stress`` runs the old single dense month instead (100,000 outages of 1-20 s and
10,000 windows: ~51 % availability, a stress test, not a real month). Figures only, no assertions.

Run: ``python benchmarks/sla.py [--rounds N] [--stress]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import portion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alternating import Timed, alternate, load_average

from windows.sla import Outage, Period, SlaResult, Window, WindowKind, compute_sla

MONTHS = 2000
SEED = 2027
NOTICE_DAYS = 30
ZONES = ("UTC", "America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_MINUTE = timedelta(minutes=1)

Case = tuple[Period, list[Window], list[Outage]]


def realistic_month(rng: random.Random) -> Case:
    period = Period(2027, rng.randint(1, 12), rng.choice(ZONES))
    span = period.seconds
    windows = []
    first = rng.randrange(7 * 86400)
    for week in range(rng.choice((4, 5))):
        start = period.start + timedelta(seconds=min(first + week * 7 * 86400, span - 4 * 3600))
        end = start + rng.choice((60, 120, 180, 240)) * _MINUTE
        roll = rng.random()
        if roll < 0.01:  # unplanned maintenance: always downtime
            windows.append(Window(start, start + rng.randint(15, 45) * _MINUTE, "unplanned"))
        elif roll < 0.02:  # announced too late
            windows.append(Window(start, end, "planned", start - timedelta(days=rng.randint(1, 20))))
        elif roll < 0.07:  # agreed by the customer
            windows.append(Window(start, end, "planned", start - timedelta(days=3), customer_consent=True))
        else:
            windows.append(Window(start, end, "planned", start - timedelta(days=rng.randint(30, 60))))
    outages = []
    for _ in range(rng.randint(0, 6)):
        start = period.start + timedelta(seconds=rng.randrange(span - 3600))
        outages.append(Outage(start, start + rng.randint(2, 45) * _MINUTE))
    return period, windows, outages


def dense_month(rng: random.Random) -> Case:
    """The old benchmark: windows of 10 s - 5 min and outages of 1 - 20 s, covering about half the month."""
    period = Period(2027, 3, "America/New_York")
    lo, hi = -3600, period.seconds + 3600
    windows = []
    for _ in range(10_000):
        start = period.start + rng.randrange(lo, hi) * _SECOND
        announced = start - rng.randrange(0, 60) * timedelta(days=1)
        kind: WindowKind = "unplanned" if rng.random() < 0.1 else "planned"
        windows.append(Window(start, start + rng.randrange(10, 300) * _SECOND, kind, announced, rng.random() < 0.05))
    outages = []
    for _ in range(100_000):
        start = period.start + rng.randrange(lo, hi) * _SECOND
        outages.append(Outage(start, start + rng.randrange(1, 20) * _SECOND))
    return period, windows, outages


def qualifies(window: Window) -> bool:
    """Excluded from the SLA: planned, and announced NOTICE_DAYS ahead or agreed by the customer."""
    if window.kind != "planned":
        return False
    noticed = window.announced_at is not None and window.start - window.announced_at >= timedelta(days=NOTICE_DAYS)
    return noticed or window.customer_consent


def _floor(instant: datetime) -> int:
    return (instant - _EPOCH) // _SECOND


def _ceil(instant: datetime) -> int:
    return -((_EPOCH - instant) // _SECOND)


def sort_and_sweep(period: Period, windows: list[Window], outages: list[Outage]) -> tuple[int, int]:
    """E and D of one month, written plainly: sort, merge, sweep. Whole seconds in the customer's favour."""
    lo, hi = _floor(period.start), _floor(period.end)
    excluded_spans, down_spans = [], []
    for window in windows:
        if qualifies(window):  # narrowed to whole seconds
            excluded_spans.append((max(_ceil(window.start), lo), min(_floor(window.end), hi)))
        else:  # widened
            down_spans.append((max(_floor(window.start), lo), min(_ceil(window.end), hi)))
    for outage in outages:
        down_spans.append((max(_floor(outage.start), lo), min(_ceil(outage.end), hi)))
    excluded = merge(excluded_spans)
    down = 0
    i = 0  # the first excluded span that may still overlap
    for start, end in merge(down_spans):
        while i < len(excluded) and excluded[i][1] <= start:
            i += 1
        j, cursor = i, start
        while j < len(excluded) and excluded[j][0] < end:
            down += max(0, excluded[j][0] - cursor)
            cursor = max(cursor, excluded[j][1])
            j += 1
        down += max(0, end - cursor)
    return sum(end - start for start, end in excluded), down


def merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint, non-touching union of half-open spans (empty ones dropped)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def with_portion(period: Period, windows: list[Window], outages: list[Outage]) -> tuple[int, int]:
    """The same E and D with portion: one n-ary union per set (its fastest path), then - and &."""

    def span(start: datetime, end: datetime) -> portion.Interval:
        return portion.closedopen(_floor(start), _ceil(end))

    month = portion.closedopen(_floor(period.start), _floor(period.end))
    excluded = portion.Interval(*(portion.closedopen(_ceil(w.start), _floor(w.end)) for w in windows if qualifies(w)))
    down = portion.Interval(
        *(span(w.start, w.end) for w in windows if not qualifies(w)),
        *(span(o.start, o.end) for o in outages),
    )
    excluded &= month
    down = (down - excluded) & month
    return (
        int(sum(i.upper - i.lower for i in excluded if not i.empty)),
        int(sum(i.upper - i.lower for i in down if not i.empty)),
    )


def run_maintcal(cases: list[Case]) -> list[SlaResult]:
    return [compute_sla(period, windows, outages) for period, windows, outages in cases]


def run_sweep(cases: list[Case]) -> list[tuple[int, int]]:
    return [sort_and_sweep(*case) for case in cases]


def run_portion(cases: list[Case]) -> list[tuple[int, int]]:
    return [with_portion(*case) for case in cases]


def report(timed: Timed, reference: Timed | None) -> str:
    ratio = ""
    if reference is not None:
        wall, cpu = timed.median / reference.median, timed.cpu_median / reference.cpu_median
        ratio = f"  time / maintcal's: {wall:5.2f} (wall medians), {cpu:5.2f} (CPU medians)"
    return (
        f"  {timed.name:<24} wall best {timed.best * 1000:8.1f} ms, median {timed.median * 1000:8.1f} ms, "
        f"CPU median {timed.cpu_median * 1000:8.1f} ms{ratio}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of each side (default 5)")
    parser.add_argument("--stress", action="store_true", help="the old dense month instead (~51 %% availability)")
    args = parser.parse_args()
    rng = random.Random(SEED)
    cases = [dense_month(rng)] if args.stress else [realistic_month(rng) for _ in range(MONTHS)]
    windows = sum(len(w) for _, w, _ in cases)
    outages = sum(len(o) for _, _, o in cases)
    outage_seconds = sum(int((o.end - o.start).total_seconds()) for _, _, found in cases for o in found)
    print(
        f"{len(cases):,} month(s), {windows:,} windows, {outages:,} outages of {outage_seconds:,} s in all "
        f"(seed {SEED}); one warm-up run each, then {args.rounds} rounds alternating; "
        f"load average {load_average()} (2 cores shared with other sessions)"
    )
    ours, sweep, other = alternate(
        [
            ("windows.sla.compute_sla", lambda: run_maintcal(cases)),
            ("plain sort-and-sweep", lambda: run_sweep(cases)),
            ("portion", lambda: run_portion(cases)),
        ],
        args.rounds,
    )
    for timed in (ours, sweep, other):
        print(report(timed, None if timed is ours else ours))
    results: list[SlaResult] = ours.result
    figures = [(r.excluded_seconds, r.downtime_seconds) for r in results]
    for timed in (sweep, other):
        differ = [i for i, pair in enumerate(timed.result) if pair != figures[i]]
        example = ""
        if differ:
            i = differ[0]
            example = f", e.g. month {i}: maintcal E, D = {figures[i]}, {timed.name} {timed.result[i]}"
        verdict = "yes" if not differ else f"NO ({len(differ)} months differ{example})"
        print(f"  {timed.name} agrees with maintcal on E and D of every month, to the second: {verdict}")
    percents = sorted(float(r.availability * 100) for r in results)
    tenth = len(percents) // 10
    downtime = sum(d for _, d in figures)
    print(
        f"  availability: min {percents[0]:.3f} %, 10th percentile {percents[tenth]:.3f} %, "
        f"median {statistics.median(percents):.3f} %, 90th {percents[-tenth - 1]:.3f} %, max {percents[-1]:.3f} %"
    )
    print(
        f"  downtime counted {downtime:,} s: the outages' {outage_seconds:,} s, less what fell inside excluded "
        f"windows or overlapped, plus late or unplanned windows"
    )
    print(f"  load average after: {load_average()}")


if __name__ == "__main__":
    main()
