"""Notice speed: planning for 10,000 customers x 3 contacts x 4 products, then sending 5,000.

1. Plan: a catalogue of 4 products (weekly windows, one of them in each customer's local time) and
   10,000 customers with 3 contacts each, subscribed to every product, in a database (SQLite file by
   default, ``--db URL`` for PostgreSQL). Prints the time of the first planning run (everything in
   the 37-day horizon: 30,000 digests with their MIME bytes) and of the next day's run.
2. Send: 5,000 of those deliveries to aiosmtpd (a separate process on loopback) through the outbox
   with 4 connections (claim with lease, send, record outcome and attempt), then the same prepared
   messages over 4 connections with a bare aiosmtplib loop. Prints messages/s and the ratio.

Figures only, no assertions. Run: ``python benchmarks/notices.py [--db URL] [--customers N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import aiosmtplib
from sqlalchemy import delete, func, insert, select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.migrate import upgrade
from scheduler.store.models import Contact, Customer, DataVersion, Product, Subscription, WindowRule
from scheduler.store.models_outbox import Delivery, DeliveryAttempt

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
PRODUCTS = [  # key, days, start, end, zone: one weekly window each, on different days
    ("outbound", "tue", "00:00", "03:00", "America/New_York"),
    ("premier", "wed", "22:00", "05:00", "America/New_York"),
    ("analytics", "thu", "01:00", "02:00", "Europe/London"),
    ("cloud", "sun", "00:00", "06:00", "local"),
]
ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "America/Los_Angeles"]
SEND = 5_000
CONNECTIONS = 4
T = TypeVar("T")


def populate(db: Database, customers: int) -> None:
    """The catalogue, inserted in bulk (the catalogue services would take one transaction each)."""
    created = NOW - timedelta(days=60)
    with db.transaction() as session:
        for key, days, start, end, zone in PRODUCTS:
            product = Product(key=key, name=key.title(), notice_days=30, created_at=created, updated_at=created)
            session.add(product)
            session.flush()
            session.add(
                WindowRule(
                    product_id=product.id,
                    name="weekly",
                    kind="weekly",
                    timezone=zone,
                    days=days,
                    start_time=start,
                    end_time=end,
                    valid_from=date(2027, 1, 1),
                    created_at=created,
                    updated_at=created,
                )
            )
        session.flush()
        product_ids = list(session.scalars(select(Product.id)))
        session.execute(
            insert(Customer),
            [
                {
                    "key": f"c{n:05d}",
                    "name": f"Customer {n}",
                    "timezone": ZONES[n % len(ZONES)],
                    "created_at": created,
                    "updated_at": created,
                }
                for n in range(customers)
            ],
        )
        customer_ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
        session.execute(
            insert(Contact),
            [
                {"customer_id": c, "email": f"ops{i}@c{c}.example", "nominated_at": created, "removed_at": None}
                for c in customer_ids
                for i in range(3)
            ],
        )
        session.execute(
            insert(Subscription),
            [{"customer_id": c, "product_id": p, "created_at": created} for c in customer_ids for p in product_ids],
        )
        if session.get(DataVersion, 1) is None:
            session.add(DataVersion(id=1, version=0, changed_at=created))


def timed(label: str, action: Callable[[], T]) -> tuple[float, T]:
    gc.collect()
    begin = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - begin
    print(f"  {label}: {elapsed:.2f} s")
    return elapsed, result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("aiosmtpd did not start")


async def bare_loop(port: int, messages: list[tuple[str, bytes]], sender: str) -> None:
    """The same prepared messages over CONNECTIONS connections, nothing else."""

    async def one(share: list[tuple[str, bytes]]) -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="bench.example", timeout=30)
        await smtp.connect()
        for recipient, data in share:
            errors, _ = await smtp.sendmail(sender, [recipient], data)
            assert not errors
        await smtp.quit()

    await asyncio.gather(*(one(messages[i::CONNECTIONS]) for i in range(CONNECTIONS)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        db = Database.open(url)
        print(f"database: {db.engine.dialect.name}; {args.customers} customers x 3 contacts x {len(PRODUCTS)} products")
        populate(db, args.customers)
        port = free_port()
        settings = Settings(
            database_url=url,
            smtp_url=f"smtp://127.0.0.1:{port}?starttls=false",
            smtp_connections=CONNECTIONS,
        )

        print("plan")
        first_time, first = timed("first run (everything in the horizon)", lambda: plan_notices(db, NOW, settings))
        with db.transaction() as session:
            size = session.scalar(select(func.sum(func.length(Delivery.mime))))
        deliveries, occurrences = first.deliveries, first.occurrences
        print(
            f"    {deliveries} digests, {occurrences} (occurrence, customer) pairs announced, "
            f"{int(size or 0) / deliveries / 1024:.1f} KiB per message, {deliveries / first_time:.0f} digests/s"
        )
        timed("same run again (nothing new)", lambda: plan_notices(db, NOW, settings))
        _, next_day = timed("next day's run", lambda: plan_notices(db, NOW + timedelta(days=1), settings))
        print(f"    {next_day.deliveries} digests the next day")

        # Keep SEND deliveries queued; the rest are set aside so both senders move the same messages.
        with db.transaction() as session:
            keep = select(Delivery.id).order_by(Delivery.id).limit(SEND).scalar_subquery()
            session.execute(update(Delivery).where(Delivery.id.not_in(keep)).values(status="sent"))
            session.execute(delete(DeliveryAttempt))
            queued = select(Delivery.email, Delivery.mime).where(Delivery.status == "queued").order_by(Delivery.id)
            prepared = [(email, mime) for email, mime in session.execute(queued)]
        server = start_server(port)
        try:
            print(f"send {len(prepared)} messages to aiosmtpd (separate process) over {CONNECTIONS} connections")
            later = NOW + timedelta(days=2)
            outbox_time, stats = timed("outbox (claim, send, record)", lambda: send_due(db, settings, lambda: later))
            rate = stats.sent / outbox_time
            print(f"    {rate:.0f} messages/s; sent {stats.sent}, retried {stats.retried}, failed {stats.failed}")
            bare_time, _ = timed(
                "bare aiosmtplib loop", lambda: asyncio.run(bare_loop(port, prepared, "maintenance@example.com"))
            )
            print(f"    {len(prepared) / bare_time:.0f} messages/s")
            print(f"  ratio outbox / bare: {outbox_time / bare_time:.2f} (aim: at most 1.30)")
        finally:
            server.terminate()
            server.wait(10)
        db.dispose()


if __name__ == "__main__":
    main()
