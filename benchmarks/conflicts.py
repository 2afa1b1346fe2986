"""Conflict listing speed: 5,000 customers x 3 blackouts x 20 products over a year (issue 14).

Each of the 20 products has one product-wide weekly rule (Tue & Thu, two hours, in one of four
zones); every customer (in one of eight zones) subscribes to all 20 and declares three blackouts:
yearly 11-24:11-30, monthly last-2, and a one-off week. ``maintcal conflicts`` over the year is
timed (``list_conflicts``: the product schedules, the blackout intervals, the collisions).

Figures only, no assertions. Run: ``python benchmarks/conflicts.py [--db URL] [--customers 5000]``
(default: a temporary SQLite file). Goal: under 2 s.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from scheduler.blackouts.conflicts import list_conflicts  # noqa: E402
from scheduler.catalogue import edits as catalogue  # noqa: E402
from scheduler.store.db import Database  # noqa: E402
from scheduler.store.migrate import upgrade  # noqa: E402
from scheduler.store.models import Customer, Subscription  # noqa: E402
from scheduler.store.models_blackouts import Blackout  # noqa: E402
from windows.rulespec import RuleOptions, build_rule  # noqa: E402

PRODUCTS = 20
NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
PRODUCT_ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Tokyo"]
CUSTOMER_ZONES = [
    "Asia/Kolkata",
    "Europe/Berlin",
    "America/Chicago",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Africa/Cairo",
    "Asia/Singapore",
    "Europe/London",
]


def load(db: Database, customers: int) -> None:
    for n in range(PRODUCTS):
        key = f"product-{n:02d}"
        catalogue.add_product(db, NOW, key, f"Product {n:02d}", 30)
        rule, _ = build_rule(
            RuleOptions(key, "nightly", PRODUCT_ZONES[n % 4], days="tue,thu", start="01:00", end="03:00")
        )
        catalogue.add_window(db, NOW, rule, waive_notice="benchmark")
    with db.transaction() as session:
        session.execute(
            insert(Customer),
            [
                {
                    "key": f"c{i:05d}",
                    "name": f"Customer {i}",
                    "timezone": CUSTOMER_ZONES[i % 8],
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(customers)
            ],
        )
        ids = [row.id for row in session.query(Customer.id).order_by(Customer.id)]
        product_ids = list(range(1, PRODUCTS + 1))
        session.execute(
            insert(Subscription),
            [{"customer_id": c, "product_id": p, "created_at": NOW} for c in ids for p in product_ids],
        )
        blackouts = []
        for n, c in enumerate(ids):
            week = 1 + n % 40
            base = {"customer_id": c, "status": "active", "created_at": NOW, "local_start": None, "local_end": None}
            blackouts.append({**base, "label": "Black Friday week", "kind": "yearly", "spec": "11-24:11-30"})
            blackouts.append({**base, "label": "Month end", "kind": "monthly", "spec": "last-2"})
            start = datetime.fromordinal(datetime(2027, 2, 1).toordinal() + 7 * week)
            end = datetime.fromordinal(start.toordinal() + 5)
            blackouts.append(
                {
                    **base,
                    "label": "Audit",
                    "kind": "once",
                    "spec": None,
                    "local_start": start.isoformat(),
                    "local_end": end.isoformat(),
                }
            )
        session.execute(insert(Blackout), blackouts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--customers", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        db = Database.open(url)
        started = time.perf_counter()
        load(db, args.customers)
        print(
            f"loaded {args.customers} customers x 3 blackouts x {PRODUCTS} products "
            f"in {time.perf_counter() - started:.1f} s"
        )
        start, end = datetime(2027, 1, 4, tzinfo=UTC), datetime(2028, 1, 4, tzinfo=UTC)
        for label in ("cold", "warm", "warm"):
            gc.collect()
            began, cpu = time.perf_counter(), time.process_time()
            items = list_conflicts(db, start, end)
            took, cpu = time.perf_counter() - began, time.process_time() - cpu
            counts = Counter(c.resolution for c in items)
            rate = len(items) / took if took else 0.0
            print(
                f"conflicts over a year ({label}): {len(items)} items {dict(counts)} in {took:.2f} s, "
                f"CPU {cpu:.2f} s ({rate:,.0f} items/s; goal < 2 s; load average {os.getloadavg()[0]:.1f})"
            )
            del items  # the next run does not share memory with this one's million tuples
        db.dispose()


if __name__ == "__main__":
    main()
