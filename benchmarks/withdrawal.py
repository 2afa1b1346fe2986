"""``apply`` that changes one window and retires another: reading the announced occurrences (issue 11).

Builds the scale catalogue (``scale_build.py``) at 500 and 5,000 customers on a throwaway
PostgreSQL (``tests/pgserver.py``), applies it, inserts the approved moves, plans notices (so
occurrences are announced) and marks every other delivery sent (so both kinds of withdrawal
happen: a cancellation queued where a notice may have arrived, unsent notices superseded). Then it
applies the file with product-12's weekly window reshaped (starts an hour later, notice waived) and
product-03's ``local`` window left out (retired): 3/20 of the customers each.

Each round applies that file with ``dry_run`` (rolled back, so every run starts from the same
data) once per path, alternating which goes first: ``old`` looks each announced occurrence up by
itself (``find_occurrence``, as ``withdrawals`` did before), ``new`` reads them at once
(``find_occurrences``). It prints wall and CPU seconds of the whole ``apply`` and of the lookups
alone (``announced`` before the change and ``withdraw_vanished`` after it). The old path costs
about 0.1 s of wall time per occurrence on a loaded machine, so it runs only at the sizes of
``--old-sizes`` (default 500); at every size, what ``announced`` asks is also read at once and, for
``--sample`` of those occurrences, one by one (the old path's total extrapolated), in one
read-only transaction, with whether the answers are the same. At the ``--old-sizes`` sizes it
finally applies the file for real with each path on two copies of the database and says whether
the plans and the outbox (every delivery's address, Message-ID, status and MIME bytes) are identical.

Figures only, no assertions. Run:
``python benchmarks/withdrawal.py [--customers 500,5000] [--rounds 2] [--old-sizes 500] [--sample 300]``.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scale_build import catalogue_toml, fresh_database, insert_moves, product_key  # noqa: E402

from scheduler.catalogue import withdrawals  # noqa: E402
from scheduler.catalogue.apply import PlanItem, apply_catalogue  # noqa: E402
from scheduler.catalogue.catalogue_file import parse_catalogue  # noqa: E402
from scheduler.notices.planning import plan_notices  # noqa: E402
from scheduler.occurrences.schedule import find_occurrence, find_occurrences  # noqa: E402
from scheduler.settings import Settings  # noqa: E402
from scheduler.store.db import Database  # noqa: E402
from scheduler.store.models_outbox import QUEUED, SENT, Delivery  # noqa: E402
from tests.pgserver import PgServer  # noqa: E402
from windows.schedule import Scheduled  # noqa: E402

APPLY_AT = datetime(2027, 1, 1, tzinfo=UTC)
NOW = datetime(2027, 2, 1, 12, tzinfo=UTC)  # the first plan announces up to early March
CHANGE_AT = NOW + timedelta(days=1)
CHANGED, RETIRED = 12, 3  # product-12: weekly in a fixed zone; product-03: ``local``
Lookup = Callable[[Any, list[tuple[str, str | None]]], dict[tuple[str, str | None], Scheduled | None]]


def one_by_one(session: Any, pairs: list[tuple[str, str | None]]) -> dict[tuple[str, str | None], Scheduled | None]:
    """The path before: one ``find_occurrence`` (its own queries and expansion) per occurrence."""
    return {pair: find_occurrence(session, *pair) for pair in pairs}


PATHS: dict[str, Lookup] = {"old": one_by_one, "new": find_occurrences}


def changed_file(customers: int) -> str:
    """The catalogue with product-12's window starting an hour later and product-03's window left out."""
    source = catalogue_toml(customers)
    head = f'key = "{product_key(CHANGED)}"'
    at = source.index(head)
    window = source.index('start = "22:00"', at)
    source = (
        source[:window] + 'start = "23:00"\n  waive_notice = "benchmark"' + source[window + len('start = "22:00"') :]
    )
    head = f'key = "{product_key(RETIRED)}"'
    at = source.index(head)
    start = source.index("  [[products.windows]]", at)
    end = source.index("\n\n", start)
    return source[:start] + source[end:]


_PATCHED = "find_occurrences"  # what ``withdrawals`` calls to look announced occurrences up


class Lookups:
    """Wall and CPU seconds spent in ``withdrawals.find_occurrences`` (whichever path it is)."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.pairs = 0
        self.first: list[tuple[str, str | None]] = []  # what ``announced`` asked

    @contextmanager
    def using(self, lookup: Lookup) -> Iterator[None]:
        def counted(session: Any, pairs: Any) -> dict[tuple[str, str | None], Scheduled | None]:
            pairs = list(pairs)
            if not self.pairs:
                self.first = pairs
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return lookup(session, pairs)
            finally:
                self.wall += time.perf_counter() - wall
                self.cpu += time.process_time() - cpu
                self.pairs += len(pairs)

        saved = getattr(withdrawals, _PATCHED)
        setattr(withdrawals, _PATCHED, counted)
        try:
            yield
        finally:
            setattr(withdrawals, _PATCHED, saved)


def apply_with(db: Database, source: str, path: str, dry_run: bool) -> tuple[list[PlanItem], dict[str, float]]:
    lookups = Lookups()
    gc.collect()
    with lookups.using(PATHS[path]):
        wall, cpu = time.perf_counter(), time.process_time()
        plan = apply_catalogue(db, CHANGE_AT, parse_catalogue(source), dry_run=dry_run, settings=Settings())
        figures = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    figures |= {"lookup wall": lookups.wall, "lookup cpu": lookups.cpu, "pairs": lookups.pairs}
    asked.extend(lookups.first)
    return plan, figures


asked: list[tuple[str, str | None]] = []  # the pairs the last ``announced`` asked


def outbox(db: Database) -> list[tuple[str, str, str, bytes]]:
    with db.transaction() as session:
        rows = session.execute(
            select(Delivery.email, Delivery.message_id, Delivery.status, Delivery.mime).order_by(Delivery.id)
        )
        return [(e, m, s, bytes(b)) for e, m, s, b in rows]


def copy_database(server: PgServer, source: str, name: str) -> str:
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {source}"))
    admin.dispose()
    return server.url(name)


def one_size(server: PgServer, customers: int, rounds: int, old: bool, sample: int) -> None:
    name = f"withdrawal_{customers}"
    url = fresh_database(server.admin_url, server.url, name)
    db = Database.open(url)
    settings = Settings(database_url=url)
    source = catalogue_toml(customers)
    print(f"{customers} customers x 2 contacts x 3 of 20 products", flush=True)
    apply_catalogue(db, APPLY_AT, parse_catalogue(source), settings=settings)
    insert_moves(db, APPLY_AT)
    plan_notices(db, NOW, settings)
    with db.transaction() as session:
        session.execute(update(Delivery).where(Delivery.id % 2 == 0).values(status=SENT, sent_at=NOW))
        statuses = {
            status: count
            for status, count in session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        }
    print(f"  outbox: {statuses.get(SENT, 0)} sent, {statuses.get(QUEUED, 0)} queued", flush=True)
    changed = changed_file(customers)
    paths = ("old", "new") if old else ("new",)
    for round_number in range(rounds):
        for path in paths if round_number % 2 == 0 else paths[::-1]:
            asked.clear()
            plan, figures = apply_with(db, changed, path, dry_run=True)
            removed = sum(1 for item in plan if item.what.startswith("occurrence "))
            print(
                f"  round {round_number + 1} {path}: apply {figures['wall']:.2f} s wall, {figures['cpu']:.2f} s CPU;"
                f" lookups {figures['lookup wall']:.2f} s wall, {figures['lookup cpu']:.2f} s CPU"
                f" ({figures['pairs']:.0f} lookups: announced, then after the change; {removed} withdrawn)"
                f" [load {load()}]",
                flush=True,
            )
    sampled(db, list(asked), sample)
    db.dispose()
    if not old:
        return
    results = {}
    for path in PATHS:
        copy = Database.open(copy_database(server, name, f"{name}_{path}"))
        plan, _ = apply_with(copy, changed, path, dry_run=False)
        results[path] = (plan, outbox(copy))
        copy.dispose()
    (old_plan, old_box), (new_plan, new_box) = results["old"], results["new"]
    print(
        f"  applied for real: plans identical: {old_plan == new_plan} ({len(new_plan)} items); outbox identical:"
        f" {old_box == new_box} ({len(new_box)} deliveries, {sum(len(r[3]) for r in new_box)} bytes of MIME)",
        flush=True,
    )


def sampled(db: Database, pairs: list[tuple[str, str | None]], sample: int) -> None:
    """What ``announced`` asks, before any change: all of it at once, and ``sample`` pairs (evenly
    spread) one by one, in one read-only transaction; the old path's total is extrapolated."""
    some = pairs[:: max(1, len(pairs) // sample)][:sample]
    with db.transaction() as session:
        wall, cpu = time.perf_counter(), time.process_time()
        at_once = find_occurrences(session, pairs)
        new_wall, new_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        each = one_by_one(session, some)
        old_wall, old_cpu = time.perf_counter() - wall, time.process_time() - cpu
    same = all(at_once[pair] == found for pair, found in each.items())
    per_wall, per_cpu = old_wall / len(some), old_cpu / len(some)
    print(
        f"  {len(pairs)} announced occurrences read at once: {new_wall:.2f} s wall, {new_cpu:.2f} s CPU;"
        f" {len(some)} of them one by one: {old_wall:.2f} s wall, {old_cpu:.2f} s CPU"
        f" ({per_wall * 1000:.1f} ms wall, {per_cpu * 1000:.1f} ms CPU each: {per_wall * len(pairs):.0f} s wall,"
        f" {per_cpu * len(pairs):.1f} s CPU for all); same answers: {same} [load {load()}]",
        flush=True,
    )


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default="500,5000", help="comma-separated sizes (default 500,5000)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per size (default 2)")
    parser.add_argument(
        "--old-sizes", default="500", help="sizes whose apply also runs the old path (default 500: slow beyond)"
    )
    parser.add_argument("--sample", type=int, default=300, help="occurrences looked up one by one (default 300)")
    args = parser.parse_args()
    server = PgServer.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the cluster on kill too
    try:
        old_sizes = {int(n) for n in args.old_sizes.split(",") if n}
        for customers in (int(n) for n in args.customers.split(",")):
            one_size(server, customers, args.rounds, customers in old_sizes, args.sample)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
