"""Feed speed: a customer subscribed to 20 products with 2 rules each, over the full horizon.

Prints:
- the cold render (rows -> bytes) in ms and events/s, beside icalendar's own ``to_ical()`` of the
  same events (the Calendar built beforehand, not timed) and the ratio;
- a cold feed request through ``FeedService`` (lookup, expansion, rendering, hashing);
- requests/s of a warm 200 and of a 304 through ``maintcal serve`` (uvicorn, one process), loaded
  from a second process over loopback with keep-alive connections.

Figures only, no assertions. Run: ``python benchmarks/feeds.py [--db URL] [--seconds 5]``
(default: a temporary SQLite file; give a PostgreSQL URL to measure that).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feed_load import read_response  # noqa: E402

from scheduler.catalogue import edits as catalogue  # noqa: E402
from scheduler.feeds.content import customer_feed, feed_events, horizon  # noqa: E402
from scheduler.feeds.ical import CalendarInfo, render_calendar  # noqa: E402
from scheduler.feeds.ical_reference import build_calendar  # noqa: E402
from scheduler.feeds.service import FeedService  # noqa: E402
from scheduler.feeds.tokens import issue_feed_token  # noqa: E402
from scheduler.occurrences.schedule import occurrences  # noqa: E402
from scheduler.settings import Settings  # noqa: E402
from scheduler.store.db import Database  # noqa: E402
from scheduler.store.migrate import upgrade  # noqa: E402
from windows.rulespec import RuleOptions, build_rule  # noqa: E402

PRODUCTS = 20
REPEAT = 5
NOW = datetime.now(UTC)
T = TypeVar("T")


def best_of(repeat: int, action: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``repeat`` runs (seconds) and the last result; GC off while timing."""
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
        gc.enable()
    assert result is not None
    return min(times), result


def load(db: Database) -> str:
    """20 products, each with a weekday rule in New York and a weekly 'local' rule; one customer."""
    zones = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Tokyo"]
    for n in range(PRODUCTS):
        key = f"product-{n:02d}"
        catalogue.add_product(db, NOW, key, f"Product {n:02d}, tier {n % 3}", 30, public=True)
        for name, options in (
            ("weekdays", RuleOptions(key, "weekdays", zones[n % 4], days="mon-fri", start="01:00", end="03:00")),
            ("weekly", RuleOptions(key, "weekly", "local", days="sun", start="22:00", end="04:00")),
        ):
            rule, _ = build_rule(options)
            assert rule.name == name
            catalogue.add_window(db, NOW, rule, waive_notice="benchmark")
    catalogue.add_customer(db, NOW, "bench", "Benchmark Customer", "Europe/Berlin", ["ops@bench.example"])
    catalogue.subscribe(db, NOW, "bench", [f"product-{n:02d}" for n in range(PRODUCTS)])
    return issue_feed_token(db, NOW, "bench")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- the load client (run as a second process) ------------------------------------------------------


async def _worker(port: int, request: bytes, deadline: float, counts: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.perf_counter() < deadline:
        writer.write(request)
        status, _ = await read_response(reader)
        counts[status] += 1
    writer.close()


async def _load(port: int, path: str, etag: str | None, seconds: float, connections: int) -> dict[str, object]:
    extra = f"If-None-Match: {etag}\r\n" if etag else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()
    counts: Counter[int] = Counter()
    started = time.perf_counter()
    await asyncio.gather(*(_worker(port, request, started + seconds, counts) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return {"requests": sum(counts.values()), "seconds": elapsed, "statuses": dict(counts)}


def run_load(port: int, path: str, etag: str | None, seconds: float, connections: int) -> dict[str, object]:
    """Start the load client in a separate Python process and return what it measured."""
    command = [sys.executable, __file__, "--load", str(port), path, "--seconds", str(seconds)]
    command += ["--connections", str(connections)] + (["--etag", etag] if etag else [])
    done = subprocess.run(command, capture_output=True, check=True, text=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


# -- the measurements -----------------------------------------------------------------------------------


def measure(url: str, seconds: float, connections: int) -> None:
    upgrade(url)
    db = Database.open(url)
    settings = Settings(database_url=url)
    token = load(db)
    start, end = horizon(NOW)
    with db.transaction() as session:
        items = occurrences(session, start, end, customer="bench")
        events = feed_events(session, items, settings, viewer_zone="Europe/Berlin")
    info = CalendarInfo("feed:customer:bench@bench", "Benchmark Customer maintenance windows", "Benchmark feed")
    ours, body = best_of(REPEAT, lambda: render_calendar(events, info, settings=settings))
    built = build_calendar(events, info, settings=settings)
    theirs, reference = best_of(REPEAT, built.to_ical)
    construct, _ = best_of(REPEAT, lambda: build_calendar(events, info, settings=settings))
    assert body == reference
    n = len(events)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"feed: {n} events, {len(body) / 1e6:.2f} MB, {PRODUCTS} products x 2 rules, horizon {start:%F} to {end:%F}")
    print(f"cold render (events -> bytes):      {ours * 1e3:8.1f} ms   {n / ours:10,.0f} events/s")
    print(f"icalendar to_ical() of the same:    {theirs * 1e3:8.1f} ms   {n / theirs:10,.0f} events/s")
    print(f"  ratio ours / icalendar:           {ours / theirs:8.2f}      (aim: <= 1.3)")
    print(f"  (building icalendar's objects:    {construct * 1e3:8.1f} ms more)")

    def cold_request() -> bytes:
        service = FeedService(db, replace(settings, feed_render_processes=0))
        found = asyncio.run(service.by_token(token, NOW))
        assert found is not None
        return asyncio.run(service.body(found)).body

    cold, served_body = best_of(3, cold_request)
    with db.transaction() as session:
        assert served_body == customer_feed(session, settings, "bench", start, end).body
    print(f"cold feed request in-process:       {cold * 1e3:8.1f} ms   (lookup + expansion + render)")
    db.dispose()

    port = free_port()
    env = {**os.environ, "MAINTCAL_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-c", "import cli; cli.main()", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        for _ in range(400):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        path = f"/feeds/{token}.ics"
        warm = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=60)  # renders once, then cached
        etag = warm.headers["etag"]
        results = {}
        for label, tag in (("warm 200", None), ("304", etag)):
            result = run_load(port, path, tag, seconds, connections)
            rate = float(result["requests"]) / float(result["seconds"])  # type: ignore[arg-type]
            results[label] = rate
            print(
                f"{label:<8} through uvicorn:          {rate:8.0f} requests/s   "
                f"({connections} keep-alive connections, {seconds:g} s, statuses {result['statuses']})"
            )
        per_304 = 1 / results["304"]
        print(f"  a 304 costs {per_304 * 1e3:.2f} ms of server time: {cold / per_304:,.0f}x cheaper than a cold render")
        print(f"  (warm 200 moves {results['warm 200'] * len(body) / 1e9:.2f} GB/s)")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each load run")
    parser.add_argument("--connections", type=int, default=4, help="concurrent keep-alive connections")
    parser.add_argument("--load", nargs=2, metavar=("PORT", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--etag", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        port, path = args.load
        print(json.dumps(asyncio.run(_load(int(port), path, args.etag, args.seconds, args.connections))))
        return
    if args.db:
        measure(args.db, args.seconds, args.connections)
        return
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{tmp}/bench.db", args.seconds, args.connections)


if __name__ == "__main__":
    main()
