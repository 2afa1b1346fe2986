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

Run: ``python benchmarks/sla_scale.py [--customers 500] [--rounds 3] [--only sla|compliance] [--profile]``
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import signal
import sys
import time
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alternating import cpu_seconds, load_average  # noqa: E402
from scale import APPLY_AT, MONTH, MONTH_END, MONTH_START, NOW  # noqa: E402
from scale_build import PRODUCTS, catalogue_toml, fresh_database, insert_moves, product_key  # noqa: E402

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
    args = parser.parse_args()
    server = PgServer.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the cluster on kill too
    try:
        db = build(server, args.customers)
        statements = 0

        def count(*_: object) -> None:
            nonlocal statements
            statements += 1

        event.listen(db.engine, "before_cursor_execute", count)
        for name in [args.only] if args.only else list(FIGURES):
            label, run, unit = FIGURES[name]
            statements = 0
            found = run(db)  # warm-up
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
            print(f"  load average after: {load_average()}")
            if args.profile:
                profile = cProfile.Profile(time.process_time)  # CPU time: other processes' load is not counted
                profile.runcall(run, db)
                stats = pstats.Stats(profile)
                stats.sort_stats("cumulative").print_stats(40)
                stats.sort_stats("tottime").print_stats(30)
        db.dispose()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
