"""Memory of ``maintcal notices send --once`` against the backlog it sends (issue 11: < 150 MB whatever the backlog).

For each backlog size a fresh database gets that many queued deliveries, shaped like the first plan
of ``scale.py`` (two contacts per customer, every address distinct; 4 in 10 are digests spread
evenly over 4-112 KB, the real ones' range, 58 KB on average where theirs is 44 KB; the others
reminders of 4.6 KB), then the CLI command runs in its own process,
to a pickup directory or (``--smtp``) to an aiosmtpd sink on loopback that counts and discards.
A thread of that process samples its resident memory (VmRSS) every half second with how many
messages have gone (pickup files, or the sink's count); at the end it prints its peak (VmHWM).

Printed per size: the peak, the resident memory once a quarter and half of the backlog was sent
and at the last sample while sending, and the growth per 1,000 messages sent (from the half-way
sample to the last, and from the peak of the smaller backlog to that of the larger). Figures only,
no assertions.

Run: ``python benchmarks/send_memory.py [--sizes 10000,40000] [--sqlite] [--smtp]``
(default: PostgreSQL on a throwaway cluster, ``tests/pgserver.py``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scheduler.store.db import Database  # noqa: E402
from scheduler.store.migrate import upgrade  # noqa: E402
from scheduler.store.models_outbox import Delivery, Notice  # noqa: E402
from tests.pgserver import PgServer  # noqa: E402
from tests.smtp_server import ServerThread  # noqa: E402

NOW = datetime(2027, 2, 1, 12, tzinfo=UTC)
LINE = b"Maintenance window for your subscription: the service may be unavailable meanwhile.\r\n"  # 87 bytes


def message(n: int, recipient: str) -> bytes:
    """A MIME message of the backlog's size mix: digest sizes spread over 4-112 KB, reminders 4.6 KB."""
    head = (
        f"From: maintcal <maintenance@example.com>\r\nTo: {recipient}\r\nSubject: Maintenance notice {n}\r\n"
        f"Message-ID: <{n}.send-memory@example.com>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n\r\n'
    ).encode()
    size = 4 * 1024 + (n * 7919) % (108 * 1024) if n % 5 < 2 else 4_600
    return head + LINE * (size // len(LINE))


def backlog(count: int) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for n in range(count):
        recipient = f"{('ops', 'cto')[n % 2]}@c{n // 2:06d}.example.com"
        notice = {"id": n + 1, "kind": "announce", "method": "PUBLISH", "customer_id": None, "note": None}
        delivery = {
            "notice_id": n + 1,
            "contact_id": None,
            "email": recipient,
            "message_id": f"<{n}.send-memory@example.com>",
            "mime": message(n, recipient),
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": NOW + timedelta(seconds=n % 240),
            "uncertain": False,
            "created_at": NOW,
            "channel": "email",
        }
        yield notice | {"created_at": NOW}, delivery


def build(url: str, count: int) -> None:
    upgrade(url)
    db = Database.open(url)
    rows = backlog(count)
    with db.engine.begin() as connection:
        while chunk := [pair for _, pair in zip(range(2_000), rows, strict=False)]:
            connection.execute(insert(Notice), [notice for notice, _ in chunk])
            connection.execute(insert(Delivery), [delivery for _, delivery in chunk])
    db.dispose()


# The CLI command in its own process (as scale.py runs it), with a sampling thread.
CHILD = """
import json, os, sys, threading, time
from datetime import datetime
from pathlib import Path

from cli import maintcal
from commands.common import AppContext
from scheduler.settings import Settings

url, now, pickup, smtp, count_file, samples_file = sys.argv[1:]

def kb(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))

def sent():
    if smtp:
        with open(count_file) as counted:
            return int(counted.read() or 0)
    with os.scandir(pickup) as entries:
        return sum(1 for e in entries if e.name.endswith(".eml"))

samples, done = [], threading.Event()
def sample():
    while not done.wait(0.5):
        try:
            samples.append((sent(), kb("VmRSS:")))
        except (OSError, ValueError):
            pass
threading.Thread(target=sample, daemon=True).start()
instant = datetime.fromisoformat(now)
settings = Settings(database_url=url, pickup_dir=Path(pickup), smtp_url=smtp or None)
app = AppContext(settings, now=instant, clock=lambda: instant)
maintcal.main(["notices", "send", "--once"], obj=app, standalone_mode=False)
done.set()
Path(samples_file).write_text(json.dumps({"samples": samples, "peak": kb("VmHWM:"), "cpu": time.process_time()}))
"""


class Sink:
    """aiosmtpd that accepts every message, counts it (in a file the child reads) and keeps nothing."""

    def __init__(self, count_file: Path) -> None:
        self.count = 0
        self.count_file = count_file
        count_file.write_text("0")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        if self.count % 100 == 0:
            self.count_file.write_text(str(self.count))
        return "250 OK"


def smtp_sink(count_file: Path) -> tuple[ServerThread, Sink]:
    from aiosmtpd.smtp import SMTP

    handler = Sink(count_file)
    return ServerThread(lambda: SMTP(handler, hostname="mx.test")).start(), handler


def run(url: str, count: int, smtp: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as work:
        pickup, count_file, samples_file = Path(work, "pickup"), Path(work, "count"), Path(work, "samples.json")
        pickup.mkdir()
        server: ServerThread | None = None
        url_smtp = ""
        if smtp:
            server, _ = smtp_sink(count_file)
            url_smtp = server.url
        files = (str(count_file), str(samples_file))
        begin = time.perf_counter()
        try:
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    url,
                    (NOW + timedelta(days=1)).isoformat(),
                    str(pickup),
                    url_smtp,
                    *files,
                ],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        finally:
            if server is not None:
                server.stop()
        result: dict[str, Any] = json.loads(samples_file.read_text())
        result["seconds"] = time.perf_counter() - begin
        return result


def rss_at(samples: list[list[int]], sent: int) -> int:
    """The resident memory (KiB) at the first sample with at least ``sent`` messages gone."""
    return next(rss for done, rss in samples if done >= sent)


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,40000", help="backlog sizes, comma-separated (default 10000,40000)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    parser.add_argument("--smtp", action="store_true", help="to an SMTP sink on loopback instead of a pickup directory")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    server = None if args.sqlite else PgServer.start()
    peaks: dict[int, int] = {}
    transport = "SMTP (aiosmtpd sink)" if args.smtp else "pickup directory"
    print(f"notices send --once, {'SQLite' if args.sqlite else 'PostgreSQL'}, to a {transport}")
    try:
        with tempfile.TemporaryDirectory() as work:
            for count in sizes:
                if server is None:
                    url = f"sqlite:///{work}/send_{count}.db"
                else:
                    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
                    with admin.connect() as connection:
                        connection.execute(text(f"CREATE DATABASE send_{count}"))
                    admin.dispose()
                    url = server.url(f"send_{count}")
                build(url, count)
                got = run(url, count, args.smtp)
                samples, peak = got["samples"], got["peak"]
                peaks[count] = peak
                quarter, half = (rss_at(samples, count * k // 4) for k in (1, 2))
                last_sent, end = samples[-1]  # the last sample while sending (not after the engine is closed)
                slope = (end - half) / ((last_sent - count // 2) / 1000)
                print(
                    f"  {count} queued: peak {peak / 1024:.1f} MiB; resident {quarter / 1024:.1f} / "
                    f"{half / 1024:.1f} / {end / 1024:.1f} MiB after 1/4, 1/2, {last_sent} sent; "
                    f"{slope:+.1f} KiB per 1,000 from half-way on; {got['seconds']:.0f} s, "
                    f"CPU {got['cpu']:.0f} s (load average {load()})",
                    flush=True,
                )
    finally:
        if server is not None:
            server.stop()
    for small, large in itertools.pairwise(sizes):
        per_thousand = (peaks[large] - peaks[small]) / ((large - small) / 1000)
        print(f"  peak growth from {small} to {large} queued: {per_thousand:+.1f} KiB per 1,000 messages")


if __name__ == "__main__":
    main()
