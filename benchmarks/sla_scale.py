"""The SLA report of every subscriber and ``compliance`` at scale: scale.py's two figures, and their profile.

Builds the catalogue of issue 11 (``scale_build.py``: N customers x 2 contacts x 3 of 20 products,
one approved move per customer) on a throwaway PostgreSQL, runs the first ``notices plan`` (so the
compliance records the report reads are those of scale.py), then times ``sla_report`` of every
product for one month (February 2027, at 2027-02-01T12:00Z as scale.py) ``--rounds`` times, printing
each round, the rows reported and the SQL statements issued; then the same for ``compliance`` of
every customer for the month (``--only sla`` or ``--only compliance`` times one of them).
``--profile`` adds a cProfile of one more round of each, in CPU time (top functions by cumulative,
then by own time). ``--compare`` alternates each round with one of the per-customer path (``shared=False``:
every customer's view built on its own, as before the shared views), on the same data at the same
load. Figures only, no assertions.

``--reuse URL`` times a database an earlier run built (``scale.py --plan-only --keep`` or this
script's ``--keep``) instead of building one (read only: the reports write nothing). ``--phases``
adds, per round, the time spent reading the outbox and the contacts and building the customers'
views (wall and CPU); the rest is judging the items (and, for the SLA, the report's arithmetic).

Run: ``python benchmarks/sla_scale.py [--customers 500] [--rounds 3] [--only sla|compliance] [--profile]
[--reuse URL] [--phases]``
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alternating import cpu_seconds, load_average  # noqa: E402
from scale import APPLY_AT, MONTH, MONTH_END, MONTH_START, NOW  # noqa: E402
from scale_build import PRODUCTS, catalogue_toml, fresh_database, insert_moves, product_key  # noqa: E402

import scheduler.reports.compliance as compliance_module  # noqa: E402
from scheduler.catalogue.apply import apply_catalogue  # noqa: E402
from scheduler.catalogue.catalogue_file import parse_catalogue  # noqa: E402
from scheduler.notices.planning import plan_notices  # noqa: E402
from scheduler.reports.compliance import assess_range  # noqa: E402
from scheduler.reports.sla_report import sla_report  # noqa: E402
from scheduler.settings import Settings  # noqa: E402
from scheduler.store.db import Database  # noqa: E402
from tests.pgserver import PgServer  # noqa: E402


def every_subscriber(db: Database, shared: bool = True) -> int:
    """The SLA report of every product for the month; returns the rows reported."""
    return sum(len(sla_report(db, NOW, product=product_key(k), month=MONTH, shared=shared)) for k in range(PRODUCTS))


def every_customer(db: Database, shared: bool = True) -> int:
    """``compliance`` of every customer for the month; returns the items assessed."""
    with db.transaction() as session:
        return len(assess_range(session, NOW, MONTH_START, MONTH_END, shared=shared))


FIGURES = {
    "sla": ("SLA report, every subscriber, one month", every_subscriber, "report rows"),
    "compliance": ("compliance, one month, every customer", every_customer, "items"),
}


class Phases:
    """Time spent in the named functions of ``scheduler.reports.compliance`` (wall and CPU), by
    wrapping them (benchmark instrumentation only)."""

    NAMES = ("dispatches", "_contacts", "_view")  # per customer or batch: not per item (clocks cost ~1 us)

    def __init__(self) -> None:
        self.wall: dict[str, float] = dict.fromkeys(self.NAMES, 0.0)
        self.cpu: dict[str, float] = dict.fromkeys(self.NAMES, 0.0)

    @classmethod
    def install(cls) -> Phases:
        phases = cls()
        for name in cls.NAMES:
            original = getattr(compliance_module, name, None)
            if original is not None:
                setattr(compliance_module, name, phases._timed(name, original))
        return phases

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        wall, cpu, clock, process = self.wall, self.cpu, time.perf_counter, time.process_time

        def timed(*args: Any, **kwargs: Any) -> Any:
            began, began_cpu = clock(), process()
            try:
                return function(*args, **kwargs)
            finally:
                wall[name] += clock() - began
                cpu[name] += process() - began_cpu

        return timed

    def report(self) -> str:
        text = ", ".join(f"{n}: {self.wall[n]:.2f} s wall / {self.cpu[n]:.2f} s CPU" for n in self.NAMES)
        self.wall.update(dict.fromkeys(self.NAMES, 0.0))
        self.cpu.update(dict.fromkeys(self.NAMES, 0.0))
        return text


def build(server: PgServer, customers: int) -> Database:
    url = fresh_database(server.admin_url, server.url, f"sla_scale_{customers}")
    db = Database.open(url)
    settings = Settings(database_url=url)
    began = time.perf_counter()
    apply_catalogue(db, APPLY_AT, parse_catalogue(catalogue_toml(customers)), settings=settings)
    moves = insert_moves(db, APPLY_AT)
    plan_notices(db, NOW, settings)
    print(f"  built: {customers} customers, {moves} moves, first plan done in {time.perf_counter() - began:.1f} s")
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=500, help="customers (default 500)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds after one warm-up (default 3)")
    parser.add_argument("--only", choices=sorted(FIGURES), help="time only this figure")
    parser.add_argument("--profile", action="store_true", help="cProfile one more round")
    parser.add_argument("--compare", action="store_true", help="alternate with the per-customer path")
    parser.add_argument("--reuse", metavar="URL", help="time this database (built earlier) instead of building one")
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL cluster running (for --reuse)")
    parser.add_argument("--phases", action="store_true", help="time the outbox reads, contacts and assess")
    args = parser.parse_args()
    server = None if args.reuse else PgServer.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the cluster on kill too
    try:
        db = Database.open(args.reuse) if server is None else build(server, args.customers)
        phases = Phases.install() if args.phases else None
        statements = 0

        def count(*_: object) -> None:
            nonlocal statements
            statements += 1

        event.listen(db.engine, "before_cursor_execute", count)
        for name in [args.only] if args.only else list(FIGURES):
            label, run, unit = FIGURES[name]
            statements = 0
            found = run(db)  # warm-up
            if phases:
                phases.report()
            print(f"  {label}: {found} {unit}, {statements} SQL statements per run; load average {load_average()}")
            if args.compare:
                run(db, False)  # the same warm-up
            for i in range(args.rounds):
                for shared in [True, False] if args.compare else [True]:
                    gc.collect()
                    began, began_cpu = time.perf_counter(), cpu_seconds()
                    run(db, shared)
                    wall, cpu = time.perf_counter() - began, cpu_seconds() - began_cpu
                    path = "" if not args.compare else " shared" if shared else " per customer"
                    print(f"  {label}{path}, round {i + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU")
                    if phases:
                        print(f"    {phases.report()}")
            print(f"  load average after: {load_average()}")
            if args.profile:
                profile = cProfile.Profile(time.process_time)  # CPU time: other processes' load is not counted
                profile.runcall(run, db)
                stats = pstats.Stats(profile)
                stats.sort_stats("cumulative").print_stats(40)
                stats.sort_stats("tottime").print_stats(30)
        db.dispose()
    finally:
        if server is not None and args.keep:
            print(f"cluster left running: {server.admin_url}")
        elif server is not None:
            server.stop()


if __name__ == "__main__":
    main()
