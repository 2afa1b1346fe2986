"""Scale (issue 11): the figures of the issue's catalogue at 500 and 5,000 customers, with their growth.

The catalogue (``scale_build.py``): N customers x 2 contacts x 3 of 20 products (5 with ``local``
rules, 7 with cron rules), one approved move per customer, on a throwaway PostgreSQL
(``tests/pgserver.py``). For each size it prints: ``apply`` of the generated file and a no-op
re-apply, the first ``notices plan``, a plan with nothing new (a minute later, as the worker runs
it), a plan after one window change (a weekly window added to one product: its 3/20 of the
customers get a digest, with how many customers the run read), ``compliance`` for one month, the SLA
report of every subscriber for one month (every product), and the peak memory (max RSS, a separate
process) of ``notices status`` and ``notices send --once`` with the backlog the first plan queued
(2 x N deliveries: 10,000 at 5,000 customers). Then ``maintcal --help``, and for every figure the
growth exponent between sizes (1.0: linear; 2.0: quadratic).

Figures only, no assertions. Run: ``python benchmarks/scale.py [--customers 500,5000] [--big] [--plan-only]``
(``--big`` adds 50,000 customers; it takes long on a 2-core machine; ``--plan-only``: ``apply`` and
the three planning figures only).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scale_build import PRODUCTS, catalogue_toml, fresh_database, insert_moves, product_key  # noqa: E402

from scheduler.catalogue.apply import apply_catalogue  # noqa: E402
from scheduler.catalogue.catalogue_file import parse_catalogue  # noqa: E402
from scheduler.catalogue.window_rules import add_window  # noqa: E402
from scheduler.notices.planning import plan_notices  # noqa: E402
from scheduler.reports.compliance import compliance  # noqa: E402
from scheduler.reports.sla_report import sla_report  # noqa: E402
from scheduler.settings import Settings  # noqa: E402
from scheduler.store.db import Database  # noqa: E402
from scheduler.store.migrate import upgrade  # noqa: E402
from scheduler.store.models_outbox import Delivery  # noqa: E402
from tests.pgserver import PgServer  # noqa: E402
from windows.rules import WeeklyRule  # noqa: E402

APPLY_AT = datetime(2027, 1, 1, tzinfo=UTC)
NOW = datetime(2027, 2, 1, 12, tzinfo=UTC)
MONTH = "2027-02"
MONTH_START, MONTH_END = datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)
Figures = dict[str, float]


def timed(action: Callable[[], Any]) -> float:
    gc.collect()
    begin = time.perf_counter()
    action()
    return time.perf_counter() - begin


# One CLI command at a pinned clock in its own process, importing only what ``maintcal`` imports.
CHILD = """
import sys
from datetime import datetime
from pathlib import Path

from cli import maintcal
from commands.common import AppContext
from scheduler.settings import Settings

url, now, pickup, *args = sys.argv[1:]
instant = datetime.fromisoformat(now)
app = AppContext(Settings(database_url=url, pickup_dir=Path(pickup)), now=instant, clock=lambda: instant)
maintcal.main(args, obj=app, standalone_mode=False)
# VmHWM: this process's own peak (ru_maxrss would count the benchmark's memory, copied at fork).
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(peak.split()[1], file=sys.stderr)
"""


def measured(url: str, now: datetime, pickup: Path, *args: str) -> tuple[float, float]:
    """(seconds, peak MiB) of one CLI command in its own process."""
    begin = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, now.isoformat(), str(pickup), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        check=False,
    )
    elapsed = time.perf_counter() - begin
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr[-2000:]}")
    return elapsed, int(done.stderr.split()[-1]) / 1024


def plan_timed(db: Database, now: datetime, settings: Settings) -> tuple[float, str]:
    """Seconds of one planning run, and what it did (the customers it read, when it says)."""
    gc.collect()
    begin = time.perf_counter()
    result = plan_notices(db, now, settings)
    elapsed = time.perf_counter() - begin
    examined = getattr(result, "examined", None)
    read = "every customer" if getattr(result, "everyone", True) else f"{len(examined or ())} customers"
    return elapsed, f"{len(result.digests)} digests, read {read}"


def one_size(server: PgServer, customers: int, plan_only: bool = False) -> Figures:
    url = fresh_database(server.admin_url, server.url, f"scale_{customers}")
    db = Database.open(url)
    settings = Settings(database_url=url)
    source = catalogue_toml(customers)
    figures: Figures = {}
    print(f"{customers} customers x 2 contacts x 3 of {PRODUCTS} products ({len(source) / 1e6:.1f} MB of TOML)")

    def report(label: str, value: float, unit: str = "s") -> None:
        figures[label] = value
        print(f"  {label}: {value:.2f} {unit}", flush=True)

    report("apply", timed(lambda: apply_catalogue(db, APPLY_AT, parse_catalogue(source), settings=settings)))
    report("apply again (no-op)", timed(lambda: apply_catalogue(db, APPLY_AT, parse_catalogue(source))))
    print(f"    {insert_moves(db, APPLY_AT)} approved moves inserted")
    report("notices plan, first", timed(lambda: plan_notices(db, NOW, settings)))
    with db.transaction() as session:
        backlog = int(session.scalar(select(func.count()).select_from(Delivery)) or 0)
    print(f"    {backlog} deliveries queued (the backlog of notices status and send below)")
    seconds, what = plan_timed(db, NOW + timedelta(minutes=1), settings)
    report("notices plan, nothing new", seconds)
    print(f"    {what}")
    # One window change: a weekly window added to one fixed-zone product, its first weeks in the horizon.
    one, two = clock_time(1), clock_time(2)
    march = date(2027, 3, 6)
    extra = WeeklyRule(product_key(12), "extra", "Europe/London", march, None, None, days=(5,), start=one, end=two)
    add_window(db, NOW + timedelta(minutes=2), extra)
    seconds, what = plan_timed(db, NOW + timedelta(minutes=3), settings)
    report("notices plan, after one window change", seconds)
    print(f"    {what}")
    if plan_only:
        db.dispose()
        return figures
    db.dispose()
    later_figures(url, report)
    return figures


def later_figures(url: str, report: Callable[..., None]) -> None:
    """The figures after the first plan: compliance, SLA, ``notices status`` and ``send`` (also what
    ``--reuse`` times against a database an earlier run built)."""
    db = Database.open(url)
    report("compliance, one month", timed(lambda: compliance(db, NOW, MONTH_START, MONTH_END)))

    def every_subscriber() -> None:
        for k in range(PRODUCTS):
            sla_report(db, NOW, product=product_key(k), month=MONTH)

    report("SLA report, every subscriber, one month", timed(every_subscriber))
    db.dispose()
    with tempfile.TemporaryDirectory() as pickup:
        seconds, mib = measured(url, NOW, Path(pickup), "notices", "status")
        report("notices status, time", seconds)
        report("notices status, peak memory", mib, "MiB")
        seconds, mib = measured(url, NOW + timedelta(days=1), Path(pickup), "notices", "send", "--once")
        report("notices send --once, time", seconds)
        report("notices send --once, peak memory", mib, "MiB")


def reuse(url: str, customers: int) -> None:
    """``--reuse``: upgrade a database an earlier run built (``--keep``) and time what follows the plan.

    (Not ``apply`` again: the run added a window the file does not list, so the file would retire it.)"""
    upgrade(url)
    print(f"{customers} customers, database built earlier: {url}")

    def report(label: str, value: float, unit: str = "s") -> None:
        print(f"  {label}: {value:.2f} {unit}", flush=True)

    later_figures(url, report)


def help_time() -> float:
    """Best of 5: ``maintcal --help`` in a new process (what a user waits for)."""
    command = [str(Path(sys.executable).with_name("maintcal")), "--help"]
    best = math.inf
    for _ in range(5):
        begin = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - begin)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default="500,5000", help="comma-separated sizes (default 500,5000)")
    parser.add_argument("--big", action="store_true", help="add 50,000 customers")
    parser.add_argument("--plan-only", action="store_true", help="apply and the planning figures only")
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL cluster running (for --reuse)")
    parser.add_argument("--reuse", metavar="URL", help="time the figures after the first plan on this database")
    args = parser.parse_args()
    if args.reuse:
        reuse(args.reuse, int(args.customers))
        return
    sizes = [int(n) for n in args.customers.split(",")] + ([50_000] if args.big else [])
    server = PgServer.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the cluster on kill too
    try:
        results = {n: one_size(server, n, args.plan_only) for n in sizes}
    finally:
        if args.keep:
            print(f"cluster left running: {server.admin_url}")
        else:
            server.stop()
    print(f"maintcal --help: {help_time():.3f} s")
    for small, large in itertools.pairwise(sizes):
        print(f"growth from {small} to {large} customers (exponent: 1 linear, 2 quadratic)")
        for label, a in results[small].items():
            b = results[large].get(label)
            if b is not None and a > 0 and b > 0:
                print(f"  {label}: x{b / a:.1f}, exponent {math.log(b / a) / math.log(large / small):.2f}")


if __name__ == "__main__":
    main()
