"""Feed server with many customers polling (issue 11): 304s and warm 200s beside trivial peers.

The catalogue of ``scale_build.py`` (N customers x 3 of 20 products, one approved move each) is
applied to a throwaway PostgreSQL (``tests/pgserver.py``) or ``--db URL``; every customer gets a
secret feed token. Then, for ``maintcal serve`` with 1 and with 2 server processes (``--workers``):

- 304s: 50 keep-alive clients poll every customer's feed in turn, each request with that feed's
  current ETag (computed from the data, as a calendar app would hold it), beside a trivial FastAPI
  endpoint answering a fixed 304 (one uvicorn process, access log on, like ``maintcal serve``).
  Both sides get the same warm-up (one pass over every token for maintcal, as many requests to the
  peer), then are alternated, 3 x ``--seconds`` each; the ratio of the best runs is printed, and
  the first (cold) pass over every token on its own.
- warm 200s: the feeds of ``--warm`` customers (rendered once first, so cached), fetched in turn,
  beside a static FastAPI endpoint serving the same bytes (each of those feeds, fetched first).
- the memory (VmRSS, VmHWM) of each server process, and of its render processes;
- after one customer's change by the CLI, then a contact added: one pass of every customer's poll
  with the ETag it held, after the staleness bound (``MAINTCAL_FEED_VERSION_POLL_MS``): how many
  get a 200 (one, then none: the other feeds did not change) and at what rate (no lookups);
- with 2 processes: a token revoked and a change made by the CLI, then after the staleness bound
  40 requests on new connections: every one sees the change.

The load client (one Python process) shares the 2 CPUs with the servers: the figures are what this
machine does with its own client, not the server's ceiling. Figures only, no assertions.
Run: ``python benchmarks/feed_scale.py [--customers 5000] [--seconds 5] [--warm 100] [--changes-only]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import Response
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.orm import Session

Target = tuple[str, str | None]  # a request: path, and the ETag it sends (or None)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feed_load import free_port, read_response, wait_ready  # noqa: E402
from scale_build import catalogue_toml, customer_key, insert_moves  # noqa: E402

from scheduler.catalogue.apply import apply_catalogue  # noqa: E402
from scheduler.catalogue.catalogue_file import parse_catalogue  # noqa: E402
from scheduler.feeds.fingerprint import feed_validator  # noqa: E402
from scheduler.feeds.index import EPOCH, compose_stamp  # noqa: E402
from scheduler.feeds.tokens import bump_tokens_version, hash_token  # noqa: E402
from scheduler.settings import Settings  # noqa: E402
from scheduler.store.db import Database  # noqa: E402
from scheduler.store.migrate import upgrade  # noqa: E402
from scheduler.store.models import Customer, FeedToken, FeedVersion, Subscription  # noqa: E402
from tests.pgserver import PgServer  # noqa: E402

APPLY_AT = datetime(2026, 11, 1, tzinfo=UTC)
CLIENTS = 50
ROUNDS = 3
POLL_MS = 1000

# -- the load client (a separate process) ---------------------------------------------------------------


async def _connection(
    port: int, requests: list[bytes], deadline: float | None, counts: Counter[int], sizes: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    while (deadline is None and i < len(requests)) or (deadline is not None and time.perf_counter() < deadline):
        writer.write(requests[i % len(requests)])
        status, length = await read_response(reader)
        counts[status] += 1
        sizes.append(length)
        i += 1
    writer.close()


async def load(port: int, targets: list[Target], seconds: float | None) -> dict[str, Any]:
    """``targets`` (path, ETag or None) spread over CLIENTS connections; ``seconds`` None: one pass."""
    raw = [
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{f'If-None-Match: {tag}' + chr(13) + chr(10) if tag else ''}\r\n"
        for path, tag in targets
    ]
    shares = [[r.encode() for r in raw[i::CLIENTS]] or [raw[0].encode()] for i in range(CLIENTS)]
    counts: Counter[int] = Counter()
    sizes: list[int] = []
    started = time.perf_counter()
    deadline = None if seconds is None else started + seconds
    await asyncio.gather(*(_connection(port, share, deadline, counts, sizes) for share in shares))
    elapsed = time.perf_counter() - started
    return {"requests": sum(counts.values()), "seconds": elapsed, "statuses": dict(counts), "bytes": sum(sizes)}


def run_load(port: int, targets: list[Target], seconds: float | None) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump({"port": port, "targets": targets, "seconds": seconds}, spec)
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--client", spec.name], capture_output=True, text=True, check=True, timeout=900
        ).stdout
    finally:
        os.unlink(spec.name)
    result: dict[str, Any] = json.loads(out)
    result["rate"] = result["requests"] / result["seconds"]
    return result


# -- the peers ------------------------------------------------------------------------------------------


def peer_app(bodies: list[bytes]) -> FastAPI:
    """A fixed 304 (the floor for a conditional GET) and static 200s of ``bodies`` (the floor for a feed)."""
    app = FastAPI()
    headers = {"ETag": '"fixed"', "Cache-Control": "private, max-age=300"}

    @app.get("/fixed.ics")
    async def fixed() -> Response:
        return Response(status_code=304, headers=headers)

    @app.get("/static/{n}.ics")
    async def static(n: int) -> Response:
        return Response(bodies[n], media_type="text/calendar; charset=utf-8", headers=headers)

    return app


def start_peer(bodies: list[bytes]) -> tuple[int, subprocess.Popen[bytes], Path]:
    """The peer app in its own uvicorn process (access log on, like ``maintcal serve``)."""
    folder = Path(tempfile.mkdtemp(prefix="feed-scale-"))
    for n, body in enumerate(bodies):
        (folder / f"{n}.ics").write_bytes(body)
    port = free_port()
    peer = subprocess.Popen(
        [sys.executable, __file__, "--peer", str(port), str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(port, "/fixed.ics")
    return port, peer, folder


def stop_peer(peer: subprocess.Popen[bytes], folder: Path) -> None:
    peer.terminate()
    peer.wait(timeout=30)
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()


# -- the catalogue, tokens and ETags --------------------------------------------------------------------


def build(url: str, customers: int) -> dict[str, str]:
    """Apply the catalogue and give every customer a token; returns customer key -> token."""
    upgrade(url)
    db = Database.open(url)
    begun = time.perf_counter()
    apply_catalogue(db, APPLY_AT, parse_catalogue(catalogue_toml(customers)), settings=Settings(database_url=url))
    applied = time.perf_counter()
    insert_moves(db, APPLY_AT)
    moved = time.perf_counter()
    tokens = {customer_key(n): secrets.token_urlsafe(32) for n in range(customers)}
    with db.transaction() as session:
        ids = {str(k): int(i) for k, i in session.execute(select(Customer.key, Customer.id))}
        rows = [(ids[key], hash_token(token), APPLY_AT) for key, token in tokens.items()]
        insert_tokens(session, rows)
        bump_tokens_version(session, APPLY_AT)
    db.dispose()
    print(
        f"built {customers} customers with a feed token each in {time.perf_counter() - begun:.1f} s "
        f"(apply {applied - begun:.1f} s, moves {moved - applied:.1f} s, tokens {time.perf_counter() - moved:.1f} s; "
        f"load average {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    return tokens


def insert_tokens(session: Session, rows: list[tuple[int, str, datetime]]) -> None:
    """(customer id, token hash, created_at) rows into feed_tokens: by COPY on PostgreSQL (50,000 rows
    by INSERT took 41 s at load average 18, by COPY 11 s)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        names = ("customer_id", "token_hash", "created_at")
        session.execute(insert(FeedToken), [dict(zip(names, row, strict=True)) for row in rows])
        return
    raw: Any = connection.connection.driver_connection
    with raw.cursor().copy("COPY feed_tokens (customer_id, token_hash, created_at) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def etags(url: str, settings: Settings, tokens: dict[str, str]) -> list[Target]:
    """(path, current ETag) of every customer's feed, from the data (no request, no render)."""
    db = Database.open(url)
    day = datetime.now(UTC).date()
    with db.transaction() as session:
        ids = {str(k): int(i) for k, i in session.execute(select(Customer.key, Customer.id))}
        rows = session.execute(select(FeedVersion.kind, FeedVersion.ref, FeedVersion.version, FeedVersion.changed_at))
        stamps = {(str(k), int(r)): (int(v), c) for k, r, v, c in rows}
        subscribed: dict[int, list[int]] = {}
        for customer_id, product_id in session.execute(select(Subscription.customer_id, Subscription.product_id)):
            subscribed.setdefault(int(customer_id), []).append(int(product_id))
    db.dispose()
    every = stamps.pop(("all", 0), (0, EPOCH))
    targets: list[Target] = []
    for key, token in tokens.items():
        row_id = ids[key]
        stamp = compose_stamp("customer", row_id, every, stamps, tuple(sorted(subscribed.get(row_id, []))))
        targets.append((f"/feeds/{token}.ics", feed_validator(settings, ("customer", row_id), stamp, day).etag))
    return targets


def cli(url: str, *args: str) -> None:
    env = {**os.environ, "MAINTCAL_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


def one_change(url: str, port: int, settings: Settings, tokens: dict[str, str], polls: list[Target]) -> list[Target]:
    """One customer's change, then a contact added, by the CLI: how many of every customer's polls
    (each with the ETag it held) get a 200 after the staleness bound. Returns the current ETags."""
    changed = customer_key(len(tokens) // 2)
    for what, command in (
        (
            f"one customer's change ({changed}: customer set --reminders 72h)",
            ["customer", "set", changed, "--reminders", "72h"],
        ),
        (f"a contact added ({changed})", ["customer", "contact", "add", changed, f"late{time.time_ns()}@example.com"]),
    ):
        cli(url, *command)
        time.sleep(POLL_MS / 1000 + 0.1)
        begun = time.perf_counter()
        result = run_load(port, polls, None)
        print(
            f"  after {what}: {len(polls)} polls with the ETags held before: statuses {result['statuses']} "
            f"({result['rate']:.0f}/s, {time.perf_counter() - begun:.1f} s)",
            flush=True,
        )
        polls = etags(url, settings, tokens)
    return polls


# -- processes ------------------------------------------------------------------------------------------


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(p) for p in found]


def serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MAINTCAL_DATABASE_URL": url, "MAINTCAL_FEED_VERSION_POLL_MS": str(POLL_MS)}
    command = [sys.executable, "-c", "import cli; cli.main()", "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, "/healthz")
    return server


def server_processes(server: subprocess.Popen[bytes], workers: int) -> list[int]:
    """The processes that answer requests: the server itself, or its worker processes."""
    if workers == 1:
        return [server.pid]
    return [p for p in children(server.pid) if "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_text()]


def print_memory(server: subprocess.Popen[bytes], workers: int) -> None:
    for pid in server_processes(server, workers):
        rss, hwm = memory(pid)
        renderers = [memory(p) for p in children(pid)]
        extra = ", ".join(f"{r:.0f} MiB" for r, _ in renderers)
        print(
            f"  server process {pid}: RSS {rss:.0f} MiB (peak {hwm:.0f} MiB); its render processes: {extra or 'none'}"
        )


# -- the measurement ------------------------------------------------------------------------------------


def compare(
    label: str,
    ours: tuple[int, list[Target]],
    peer: tuple[int, list[Target]],
    seconds: float,
    expect: int,
) -> None:
    rates: dict[str, list[float]] = {"maintcal": [], "peer": []}
    for _ in range(ROUNDS):
        for side, (port, targets) in (("peer", peer), ("maintcal", ours)):
            result = run_load(port, targets, seconds)
            if set(result["statuses"]) != {str(expect)}:
                print(f"  {side}: unexpected statuses {result['statuses']}")
            rates[side].append(result["rate"])
    best, floor = max(rates["maintcal"]), max(rates["peer"])
    runs = ", ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(rates["maintcal"], rates["peer"], strict=True))
    print(
        f"  {label}: maintcal {best:.0f}/s, peer {floor:.0f}/s, ratio {best / floor:.2f} "
        f"(best of {ROUNDS} x {seconds:g} s each, alternated; runs maintcal/peer: {runs}; "
        f"median ratio {statistics.median(rates['maintcal']) / statistics.median(rates['peer']):.2f})",
        flush=True,
    )


def one_server(
    url: str, settings: Settings, tokens: dict[str, str], workers: int, args: argparse.Namespace, peer_port: int
) -> None:
    port = free_port()
    print(
        f"maintcal serve --workers {workers} (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)",
        flush=True,
    )
    server = serve(url, port, workers)
    try:
        polls = etags(url, settings, tokens)
        begun = time.perf_counter()
        cold = run_load(port, polls, None)  # one pass over every token: each is looked up once per process
        print(
            f"  first pass over {len(polls)} tokens after the start: {cold['rate']:.0f}/s, "
            f"statuses {cold['statuses']}, {time.perf_counter() - begun:.1f} s",
            flush=True,
        )
        run_load(port, polls, None)  # a second pass: with 2 processes, each has now seen most tokens
        polls = one_change(url, port, settings, tokens, polls)
        if args.changes_only:
            return
        fixed: list[Target] = [("/fixed.ics", '"fixed"')]
        run_load(peer_port, fixed * len(polls), None)
        run_load(peer_port, fixed * len(polls), None)  # the same warm-up for the peer
        compare(f"304s, {len(polls)} distinct customers", (port, polls), (peer_port, fixed), args.seconds, 304)
        warm: list[Target] = [(path, None) for path, _ in polls[: args.warm]]
        begun = time.perf_counter()
        rendered = run_load(port, warm, None)
        sizes = rendered["bytes"] / max(1, rendered["requests"])
        print(
            f"  rendering {len(warm)} feeds for the warm phase: {time.perf_counter() - begun:.1f} s "
            f"(mean {sizes / 1e3:.0f} kB), statuses {rendered['statuses']}",
            flush=True,
        )
        for _ in range(8):  # until every process has every feed cached (a pass then takes well under 1 s)
            begun = time.perf_counter()
            run_load(port, warm, None)
            if time.perf_counter() - begun < 1.0:
                break
        bodies = [httpx.get(f"http://127.0.0.1:{port}{path}", timeout=60).content for path, _ in warm]
        static_port, static_peer, folder = start_peer(bodies)
        try:
            static: list[Target] = [(f"/static/{n}.ics", None) for n in range(len(bodies))]
            for _ in range(2):
                run_load(static_port, static, None)
            compare(f"warm 200s over {len(warm)} feeds", (port, warm), (static_port, static), args.seconds, 200)
        finally:
            stop_peer(static_peer, folder)
        print_memory(server, workers)
        if workers > 1:
            agree(url, port, tokens)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def agree(url: str, port: int, tokens: dict[str, str]) -> None:
    """A revoke and a data change by the CLI: after the bound, every request (both processes) sees them."""
    key, token = next(iter(tokens.items()))
    other_key, other = list(tokens.items())[1]
    before = httpx.get(f"http://127.0.0.1:{port}/feeds/{other}.ics", timeout=60).headers["etag"]
    cli(url, "customer", "feed-url", key, "--revoke")
    cli(url, "customer", "set", other_key, "--reminders", "36h")  # a change of the other customer's feed
    time.sleep(POLL_MS / 1000 + 0.1)
    gone = Counter(httpx.get(f"http://127.0.0.1:{port}/feeds/{token}.ics", timeout=60).status_code for _ in range(20))
    changed = Counter(
        httpx.get(
            f"http://127.0.0.1:{port}/feeds/{other}.ics", headers={"If-None-Match": before}, timeout=60
        ).status_code
        for _ in range(20)
    )
    print(
        f"  {POLL_MS + 100} ms after a CLI revoke and a CLI change, 20 new connections each: revoked token "
        f"{dict(gone)} (want all 404), old ETag {dict(changed)} (want all 200)",
        flush=True,
    )


def measure(url: str, args: argparse.Namespace) -> None:
    tokens = build(url, args.customers)
    settings = Settings.from_env({**os.environ, "MAINTCAL_DATABASE_URL": url})
    db = Database.open(url)
    with db.transaction() as session:
        sample_id = session.scalars(select(Customer.id).where(Customer.key == customer_key(0))).one()
    db.dispose()
    port = free_port()
    probe = serve(url, port, 1)
    try:
        body = httpx.get(f"http://127.0.0.1:{port}/feeds/{tokens[customer_key(0)]}.ics", timeout=120).content
    finally:
        probe.send_signal(signal.SIGTERM)
        probe.wait(timeout=60)
    events = body.count(b"BEGIN:VEVENT")
    print(f"one customer's feed (customer id {sample_id}): {len(body) / 1e3:.0f} kB, {events} events")
    peer_port, peer, folder = start_peer([])
    try:
        for workers in args.workers:
            one_server(url, settings, tokens, workers, args, peer_port)
    finally:
        stop_peer(peer, folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each timed run")
    parser.add_argument("--warm", type=int, default=100, help="feeds fetched in the warm 200 phase")
    parser.add_argument("--workers", default="1,2", help="server processes to run with, in turn")
    parser.add_argument("--changes-only", action="store_true", help="skip the timed 304 and 200 comparisons")
    parser.add_argument("--db", help="an empty PostgreSQL database URL (default: a throwaway cluster)")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--peer", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        spec = json.loads(Path(args.client).read_text())
        targets = [(path, tag) for path, tag in spec["targets"]]
        print(json.dumps(asyncio.run(load(spec["port"], targets, spec["seconds"]))))
        return
    if args.peer:
        import uvicorn

        port, folder = args.peer
        bodies = [(Path(folder) / f"{n}.ics").read_bytes() for n in range(len(list(Path(folder).iterdir())))]
        uvicorn.run(peer_app(bodies), host="127.0.0.1", port=int(port), log_level="info")
        return
    args.workers = [int(n) for n in args.workers.split(",")]
    if args.db:
        measure(args.db, args)
        return
    server = PgServer.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE feed_scale"))
        admin.dispose()
        measure(server.url("feed_scale"), args)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
