"""Portal speed: server time of the upcoming-windows page for a customer with 5 products, and of
signing in (asking for a link, and using it).

A SQLite database in a temporary directory holds 5 products (each Tue & Thu nightly in its own
zone, 13 months = ~110 windows each, ~560 on the page), one customer subscribed to all of them,
and the notices planned and sent (so the page shows who was told). Requests go through the real
ASGI app in-process (httpx ASGITransport, no network). Warm: the first request is not counted.
Goal: median under 30 ms for the upcoming page. Figures only, no assertions.

Run: ``python benchmarks/portal.py``
"""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduler.catalogue import edits as catalogue
from scheduler.http.app import create_app
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.portal.auth import portal_link
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.migrate import upgrade
from windows.rulespec import RuleOptions, build_rule

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
ZONES = ("America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo")
RUNS = 30


def build(settings: Settings, db: Database) -> None:
    for n, zone in enumerate(ZONES):
        key = f"p{n}"
        catalogue.add_product(db, NOW, key, f"Product {n}", 30)
        rule, _ = build_rule(RuleOptions(key, "nightly", zone, days="tue,thu", start="00:00", end="03:00"))
        catalogue.add_window(db, NOW, rule, waive_notice="benchmark")
    catalogue.add_customer(db, NOW, "acme", "Acme", "Europe/Berlin", ["noc@acme.example", "cto@acme.example"])
    catalogue.subscribe(db, NOW, "acme", [f"p{n}" for n in range(len(ZONES))])
    plan_notices(db, NOW, settings)
    send_due(db, settings, lambda: NOW)


def timed(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient, method: str, path: str, **kw: object) -> float:
    started = time.perf_counter()
    response = loop.run_until_complete(client.request(method, path, **kw))  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    assert response.status_code in (200, 303), (path, response.status_code)
    return elapsed * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        settings = Settings(database_url=url, pickup_dir=Path(tmp) / "outbox")
        db = Database.open(url)
        build(settings, db)
        app = create_app(settings, database=db, clock=lambda: NOW)
        loop = asyncio.new_event_loop()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
        link = portal_link(db, NOW, settings, "acme", "noc@acme.example").split("8000", 1)[1]
        timed(loop, client, "GET", link)
        timed(loop, client, "GET", "/portal/")  # warm-up
        page = loop.run_until_complete(client.get("/portal/")).text
        windows = page.count("data-occurrence=")
        upcoming = [timed(loop, client, "GET", "/portal/") for _ in range(RUNS)]
        form = loop.run_until_complete(client.get("/portal/sign-in")).text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token is not None
        ask = [
            timed(loop, client, "POST", "/portal/sign-in", data={"csrf": token.group(1), "email": "noc@acme.example"})
            for _ in range(RUNS)
        ]
        links = [portal_link(db, NOW, settings, "acme", "cto@acme.example").split("8000", 1)[1] for _ in range(RUNS)]
        use = [timed(loop, client, "GET", path) for path in links]
        loop.run_until_complete(client.aclose())
        loop.close()
        db.dispose()
    print(
        f"upcoming page, 5 products, {windows} windows: median {statistics.median(upcoming):.1f} ms warm "
        f"(min {min(upcoming):.1f}, max {max(upcoming):.1f}; goal < 30 ms)"
    )
    print(f"sign-in, ask for a link (queues the email): median {statistics.median(ask):.1f} ms")
    print(f"sign-in, use the link (opens a session): median {statistics.median(use):.1f} ms")


if __name__ == "__main__":
    main()
