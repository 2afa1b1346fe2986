"""Composition speed: the MIME bytes of notice emails, as the planning run makes them (issue 11).

Builds ``--count`` distinct digests (an announce listing ``--entries`` windows over four products)
and as many reminders (one window each), each for its own customer and two contacts, the way
``scheduler.notices.enqueue`` does: ``render`` (subject, text and HTML bodies; the .ics made
beforehand, as the feed renders it) then ``build_message`` per contact. Prints messages/s for each
kind; ``--profile`` adds the top cProfile entries (cumulative time).

Figures only, no assertions. Run: ``python benchmarks/compose.py [--count N] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from notifications.content import Entry, Notice
from notifications.message import build_message, message_id, render

SENDER = "maintcal <maintenance@example.com>"
NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
PRODUCTS = [
    ("outbound", "Outbound Dialer"),
    ("premier", "Premier Edition"),
    ("analytics", "Analytics"),
    ("cloud", "Cloud"),
]
ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "America/Los_Angeles"]
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + b"X-FILLER:" + b"x" * 60 + b"\r\n" * 1 + b"END:VCALENDAR\r\n"


def _entries(n: int, customer: int, zone: str) -> tuple[Entry, ...]:
    out = []
    for i in range(n):
        key, name = PRODUCTS[i % len(PRODUCTS)]
        start = NOW + timedelta(days=1 + i * 37 // max(n, 1), hours=customer % 24)
        oid = f"{key}.weekly.{start:%Y%m%d}"
        out.append(
            Entry(
                uid=f"{oid}@maintcal.example.com",
                occurrence_id=oid,
                product=key,
                product_name=name,
                start=start,
                end=start + timedelta(hours=3),
                zone=zone,
                sequence=0,
                window_zone="America/New_York",
            )
        )
    return tuple(out)


def notices(count: int, kind: str, entries: int) -> list[Notice]:
    made = []
    for c in range(count):
        zone = ZONES[c % len(ZONES)]
        name = f"Customer {c:05d} Ltd" if c % 10 else f"Société Générale {c:05d}"
        made.append(
            Notice(
                kind, f"c{c}", name, zone, _entries(entries, c, zone), NOW, None, "https://maintcal.example.com/portal/"
            )
        )
    return made


def compose_all(batch: list[Notice]) -> int:
    made = 0
    for number, notice in enumerate(batch):
        rendered = render(notice, sender=SENDER, ics=ICS)
        for contact in (1, 2):
            mid = message_id("maintcal.example.com", NOW, number, contact)
            build_message(
                rendered, sender=SENDER, recipient=f"ops{contact}@c{number}.example", message_id=mid, date=NOW
            )
            made += 1
    return made


def timed(label: str, run: Callable[[], int]) -> None:
    """Wall and CPU time (the CPU figure is the steadier one on a shared machine)."""
    started, cpu = time.perf_counter(), time.process_time()
    made = run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    rate, each = made / seconds, cpu / made * 1e3
    print(f"{label}: {made} messages in {seconds:.2f} s = {rate:,.0f} messages/s (CPU {each:.2f} ms each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="notices of each kind (2 contacts each)")
    parser.add_argument("--entries", type=int, default=20, help="windows listed in each digest")
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    args = parser.parse_args()
    digests = notices(args.count, "announce", args.entries)
    reminders = notices(args.count, "reminder", 1)
    compose_all(notices(20, "announce", 3))  # warm up: caches filled, zones loaded
    timed("digests", lambda: compose_all(digests))
    timed("reminders", lambda: compose_all(reminders))
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(compose_all, notices(args.count, "announce", args.entries) + notices(args.count, "reminder", 1))
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())


if __name__ == "__main__":
    main()
