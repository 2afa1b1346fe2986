"""SLA calculator speed: one month with 100,000 outages and 10,000 windows (seeded random).

Prints the time of ``windows.sla.compute_sla`` and of the same union and difference done with the
``portion`` library, with the ratio. Figures only, no assertions. Run: ``python benchmarks/sla.py``.
"""

from __future__ import annotations

import gc
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import portion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from windows.sla import Outage, Period, Window, WindowKind, compute_sla

OUTAGES = 100_000
WINDOWS = 10_000
SEED = 2027
REPEAT = 3
T = TypeVar("T")


def build(period: Period, rng: random.Random) -> tuple[list[Window], list[Outage]]:
    """Windows of 10 s - 5 min and outages of 1 - 20 s, over the month and a little around it.

    Short, or 110,000 spans would cover the whole month; as it is, they cover about half of it.
    """
    second = timedelta(seconds=1)
    lo, hi = -3600, period.seconds + 3600
    windows = []
    for _ in range(WINDOWS):
        start = period.start + rng.randrange(lo, hi) * second
        announced = start - rng.randrange(0, 60) * timedelta(days=1)
        kind: WindowKind = "unplanned" if rng.random() < 0.1 else "planned"
        windows.append(Window(start, start + rng.randrange(10, 300) * second, kind, announced, rng.random() < 0.05))
    outages = []
    for _ in range(OUTAGES):
        start = period.start + rng.randrange(lo, hi) * second
        outages.append(Outage(start, start + rng.randrange(1, 20) * second))
    return windows, outages


def with_portion(period: Period, windows: list[Window], outages: list[Outage], notice_days: int) -> tuple[int, int]:
    """The same E and D with portion: one n-ary union per set (its fastest path), then - and &."""
    notice = timedelta(days=notice_days)

    def qualifies(w: Window) -> bool:
        noticed = w.announced_at is not None and w.start - w.announced_at >= notice
        return w.kind == "planned" and (noticed or w.customer_consent)

    def span(start: float, end: float) -> portion.Interval:
        return portion.closedopen(start, end)

    month = span(period.start.timestamp(), period.end.timestamp())
    excluded = portion.Interval(*(span(w.start.timestamp(), w.end.timestamp()) for w in windows if qualifies(w)))
    down = portion.Interval(
        *(span(w.start.timestamp(), w.end.timestamp()) for w in windows if not qualifies(w)),
        *(span(o.start.timestamp(), o.end.timestamp()) for o in outages),
    )
    excluded &= month
    down = (down - excluded) & month
    return (
        round(sum(i.upper - i.lower for i in excluded)),
        round(sum(i.upper - i.lower for i in down)),
    )


def best(run: Callable[[], T]) -> tuple[float, T]:
    """The best of REPEAT runs (the machine may be shared), with the last result."""
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - started)
    return min(times), value


def main() -> None:
    period = Period(2027, 3, "America/New_York")
    windows, outages = build(period, random.Random(SEED))

    gc.collect()
    gc.freeze()  # the inputs are long-lived: keep the collector from rescanning them on either side
    ours, result = best(lambda: compute_sla(period, windows, outages))
    theirs, (excluded, downtime) = best(lambda: with_portion(period, windows, outages, 30))

    agree = (excluded, downtime) == (result.excluded_seconds, result.downtime_seconds)
    print(f"month {period.label} {period.timezone}: {OUTAGES:,} outages, {WINDOWS:,} windows (seed {SEED})")
    print(f"  windows.sla.compute_sla  {ours * 1000:9.1f} ms (best of {REPEAT})")
    print(f"  portion union/difference {theirs * 1000:9.1f} ms (best of {REPEAT})")
    print(f"  ratio                    {theirs / ours:9.1f}x faster")
    print(
        f"  E = {result.excluded_seconds} s, D = {result.downtime_seconds} s, "
        f"availability {result.availability_percent} %, portion agrees: {'yes' if agree else 'NO'}"
    )


if __name__ == "__main__":
    main()
