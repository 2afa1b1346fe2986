"""Notice speed: planning for 10,000 customers x 3 contacts x 4 products, then sending 5,000.

1. Plan: a catalogue of 4 products (weekly windows, one of them in each customer's local time) and
   10,000 customers with 3 contacts each, subscribed to every product, in a database (SQLite file by
   default, ``--db URL`` for PostgreSQL). Prints the time of the first planning run (everything in
   the 37-day horizon: 30,000 digests with their MIME bytes) and of the next day's run.
2. Send: 5,000 of those deliveries to aiosmtpd (a separate process on loopback) through the outbox
   with 4 connections (claim with lease, send, record outcome and attempt), then the same prepared
   messages over 4 connections with a bare aiosmtplib loop. Prints messages/s and the ratio.
3. Webhooks: 5,000 signed webhook deliveries (Standard Webhooks headers, one endpoint) through the
   same outbox with 4 sending tasks to a receiver in a separate process on loopback (issue 15;
   goal: at least 500 deliveries/s on PostgreSQL), then the same signed bodies over 4 connections
   with a bare httpcore loop (the HTTP cost alone). Prints deliveries/s and the ratio. The client,
   the receiver and the database share the machine's cores: say so with the figures.

4. ``--worker-processes`` (only this): the webhooks of step 3 on a throwaway PostgreSQL, sent in
   alternating rounds by this process's 4 sending tasks and by 4 real ``maintcal worker``
   processes, to a uvloop receiver that counts duplicates (``benchmarks/webhook_workers.py``).

Figures only, no assertions. Run: ``python benchmarks/notices.py [--db URL] [--customers N]``, or
``python benchmarks/notices.py --worker-processes [--webhooks N] [--rounds 3] [--nice N] [--shared-session]``.
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
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import aiosmtplib
import httpcore
from sqlalchemy import delete, func, insert, select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from notifications.webhook import sign
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.migrate import upgrade
from scheduler.store.models import Contact, Customer, DataVersion, Product, Subscription, WindowRule
from scheduler.store.models_endpoints import Endpoint
from scheduler.store.models_outbox import Delivery, DeliveryAttempt, Notice

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
PRODUCTS = [  # key, days, start, end, zone: one weekly window each, on different days
    ("outbound", "tue", "00:00", "03:00", "America/New_York"),
    ("premier", "wed", "22:00", "05:00", "America/New_York"),
    ("analytics", "thu", "01:00", "02:00", "Europe/London"),
    ("cloud", "sun", "00:00", "06:00", "local"),
]
ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "America/Los_Angeles"]
SEND = 5_000
HOOKS = 5_000
RECEIVER = (
    "import sys, time; sys.path.insert(0, {root!r}); from tests.webhook_receiver import Receiver; "
    "Receiver(port={port}).start(); time.sleep(3600)"
)
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
                    effective_from=created,
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
    parser.add_argument("--webhooks", type=int, default=HOOKS, help="webhook deliveries to send (step 3)")
    parser.add_argument("--worker-processes", action="store_true", help="only step 4: worker processes vs one process")
    parser.add_argument("--rounds", type=int, default=3, help="step 4: rounds, each side once per round")
    parser.add_argument("--warmup", type=int, default=500, help="step 4: warm-up deliveries per side")
    parser.add_argument("--workers", type=int, default=4, help="step 4: 'maintcal worker' processes")
    parser.add_argument("--tasks", type=int, default=4, help="step 4: sending tasks per worker process")
    parser.add_argument("--lead", type=float, default=3.0, help="step 4: seconds between queueing and sending")
    parser.add_argument("--nice", type=int, default=0, help="step 4: niceness of everything it starts")
    parser.add_argument("--profile", default="", help="step 4: py-spy profile of the first worker to this file")
    parser.add_argument(
        "--shared-session",
        action="store_true",
        help="step 4: the workers and the receiver in this script's session (default: each in its own, as services)",
    )
    args = parser.parse_args()
    if args.worker_processes:
        from webhook_workers import run

        run(
            args.webhooks,
            args.rounds,
            args.warmup,
            args.workers,
            args.tasks,
            args.lead,
            args.nice,
            args.profile,
            not args.shared_session,
        )
        return
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
        webhooks(db, settings, args.webhooks)
        db.dispose()


async def bare_posts(port: int, bodies: list[bytes]) -> None:
    """The same signed bodies over CONNECTIONS kept-alive connections, nothing else."""
    secret = "whsec_" + "a" * 44

    async def one(share: list[bytes]) -> None:
        async with httpcore.AsyncConnectionPool() as pool:
            for n, body in enumerate(share):
                stamp = int(NOW.timestamp())
                headers = [
                    (b"content-type", b"application/json"),
                    (b"webhook-id", b"msg_bare_%d" % n),
                    (b"webhook-timestamp", str(stamp).encode()),
                    (b"webhook-signature", sign(secret, f"msg_bare_{n}", stamp, body).encode()),
                ]
                reply = await pool.request("POST", f"http://127.0.0.1:{port}/hook", headers=headers, content=body)
                assert reply.status == 200

    await asyncio.gather(*(one(bodies[i::CONNECTIONS]) for i in range(CONNECTIONS)))


def webhooks(db: Database, settings: Settings, count: int) -> None:
    """``count`` queued webhook deliveries to one endpoint, sent through the outbox to a local receiver."""
    port = free_port()
    with db.transaction() as session:
        customer_id, notice_id = session.execute(select(Notice.customer_id, Notice.id).limit(1)).one()
        endpoint = Endpoint(
            customer_id=customer_id,
            kind="webhook",
            url=f"http://127.0.0.1:{port}/hook",
            secret="whsec_" + "a" * 44,
            created_at=NOW,
        )
        session.add(endpoint)
        session.flush()
        body = b'{"type":"occurrence.reminder","id":"%d","timestamp":"2027-01-04T12:00:00Z","data":{}}'
        session.execute(
            insert(Delivery),
            [
                {
                    "notice_id": notice_id,
                    "contact_id": None,
                    "email": f"webhook endpoint {endpoint.id}",
                    "message_id": f"msg_bench_{n}",
                    "mime": body % n,
                    "status": "queued",
                    "attempts": 0,
                    "next_attempt_at": NOW,
                    "uncertain": False,
                    "created_at": NOW,
                    "channel": "webhook",
                    "endpoint_id": endpoint.id,
                    "event": "occurrence.reminder",
                }
                for n in range(count)
            ],
        )
    root = str(Path(__file__).resolve().parents[1])
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER.format(root=root, port=port)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        hooks = replace(settings, webhook_allow_private=True, smtp_connections=CONNECTIONS)
        print(f"send {count} signed webhooks to a receiver (separate process) with {CONNECTIONS} sending tasks")
        later = NOW + timedelta(days=3)
        cpu = time.process_time()
        elapsed, stats = timed("outbox (claim, sign, POST, record)", lambda: send_due(db, hooks, lambda: later))
        cpu = time.process_time() - cpu
        print(
            f"    {stats.sent / elapsed:.0f} deliveries/s (goal: at least 500 on PostgreSQL); sent {stats.sent}, "
            f"retried {stats.retried}, failed {stats.failed}"
        )
        print(f"    this process's CPU: {cpu * 1000 / count:.2f} ms per delivery")
        bodies = [body % n for n in range(count)]
        bare_cpu = time.process_time()
        bare, _ = timed("bare httpcore loop (sign, POST)", lambda: asyncio.run(bare_posts(port, bodies)))
        bare_cpu = time.process_time() - bare_cpu
        print(f"    {count / bare:.0f} requests/s; this process's CPU: {bare_cpu * 1000 / count:.2f} ms per request")
        print(f"  ratio outbox / bare: {elapsed / bare:.2f} in time, {cpu / bare_cpu:.2f} in CPU")
    finally:
        receiver.terminate()
        receiver.wait(10)


if __name__ == "__main__":
    main()
