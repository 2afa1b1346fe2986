"""Webhooks through worker processes (``notices.py --worker-processes``; issue 15's goal).

On a throwaway PostgreSQL (``tests/pgserver.py``), N signed webhook deliveries to one endpoint are
sent, in alternating rounds after the same warm-up, by:

- ``in-process``: ``send_due`` in this process with 4 sending tasks (what ``notices.py`` step 3
  measures);
- ``processes``: W real ``maintcal worker`` processes (the deployed command, each with its own
  sending tasks, claiming with ``FOR UPDATE SKIP LOCKED`` leases), started before the round: the
  deliveries are parked, then made due a few seconds ahead once every worker is polling (every
  second while idle), so they all begin together. Each worker and the receiver run in a session
  of their own, as services do: with Linux's autogroup scheduling the CPU is shared between
  sessions first (``--shared-session`` puts them all in this script's session, one share).

The receiver is ``benchmarks/webhook_sink.py`` (a raw asyncio protocol on uvloop in its own
process) that answers 200 and counts duplicate ``webhook-id``s. Each round prints deliveries/s
from the first claim to the last outcome recorded (every delivery ``sent``), the duplicates seen,
the CPU per delivery of the senders, the receiver and PostgreSQL, and the load average. Figures
only, no assertions.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scheduler.notices.worker import send_due  # noqa: E402
from scheduler.settings import Settings  # noqa: E402
from scheduler.store.db import Database  # noqa: E402
from scheduler.store.migrate import upgrade  # noqa: E402
from scheduler.store.models import Customer, DataVersion  # noqa: E402
from scheduler.store.models_endpoints import Endpoint  # noqa: E402
from scheduler.store.models_outbox import Delivery, DeliveryAttempt, Notice  # noqa: E402
from tests.pgserver import PgServer  # noqa: E402

SECRET = "whsec_" + "a" * 44
BODY = b'{"type":"occurrence.reminder","id":"%d","timestamp":"2027-01-04T12:00:00Z","data":{}}'
TICK = os.sysconf("SC_CLK_TCK")
OWN_SESSIONS = "each worker and the receiver in a session (scheduling group) of its own, as services are; "
SHARED_SESSION = "the workers and the receiver in this script's session (one scheduling group); "


@dataclass(frozen=True)
class Round:
    side: str
    deliveries: int
    seconds: float  # first claim to last outcome recorded
    sent: int
    duplicates: int
    requests: int
    sender_cpu: float  # seconds: this process (in-process) or the worker processes
    sink_cpu: float
    db_cpu: float
    load: float
    spread: float  # seconds between the first and the last worker's first claim (processes)
    transactions: int  # committed in the database during the round (every process)
    shares: str  # each worker's deliveries, and when its last one ended

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        per = 1000 / max(self.deliveries, 1)
        spread = (
            f", workers' first claims within {self.spread * 1000:.0f} ms (each: {self.shares})"
            if self.side == "processes"
            else ""
        )
        return (
            f"  {self.side:<10} {self.rate:5.0f} deliveries/s ({self.sent} sent of {self.deliveries} "
            f"in {self.seconds:.2f} s; receiver saw {self.requests}, duplicates {self.duplicates}){spread}; "
            f"CPU per delivery: senders {self.sender_cpu * per:.2f} ms, receiver {self.sink_cpu * per:.2f} ms, "
            f"PostgreSQL {self.db_cpu * per:.2f} ms; {self.transactions / max(self.deliveries, 1):.2f} transactions "
            f"per delivery; load average {self.load:.1f}"
        )


def prioritise(pid: int, nice: int) -> int:
    """Set the niceness of ``pid``'s autogroup (Linux shares the CPU between sessions first, then
    processes); returns the one it had. The whole session keeps it: set it back afterwards."""
    group = Path(f"/proc/{pid}/autogroup")
    if not group.exists():
        return 0
    before = int(group.read_text().split()[-1])
    group.write_text(str(nice))
    return before


def autogroup() -> str:
    group = Path("/proc/self/autogroup")
    return group.read_text().strip() if group.exists() else "none"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"error: {what} did not start")


def cpu_of(pids: list[int], children: bool = False) -> float:
    """User + system CPU seconds of ``pids`` (and, with ``children``, of their reaped children)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return total / TICK


def postgres_cpu(server: PgServer) -> float:
    """CPU seconds of the cluster: the postmaster, its live processes and those that ended."""
    master = int((server.directory / "data" / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{master}/task/{master}/children")
    kids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return cpu_of([master], children=True) + cpu_of(kids)


def commits(db: Database) -> int:
    """Transactions committed in the benchmark's database (as far as the backends have reported)."""
    db.engine.dispose()  # our own backends end, and report theirs
    time.sleep(0.2)
    with db.transaction() as session:
        value = session.scalar(text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))
    db.engine.dispose()
    return int(value or 0)


def sink_stats(port: int) -> dict[str, float]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /stats HTTP/1.1\r\nhost: sink\r\ncontent-length: 0\r\n\r\n")
        data = b""
        while b"}" not in data:
            data += sock.recv(4096)
    stats: dict[str, float] = json.loads(data.split(b"\r\n\r\n", 1)[1])
    return stats


def prepare(db: Database, port: int) -> tuple[int, int]:
    """One customer (nothing to plan), one notice and one webhook endpoint; returns their ids."""
    now = datetime.now(UTC)
    with db.transaction() as session:
        customer = Customer(key="hooks", name="Hooks", timezone="UTC", created_at=now, updated_at=now)
        session.add(customer)
        session.flush()
        notice = Notice(kind="reminder", method="PUBLISH", customer_id=customer.id, created_at=now)
        endpoint = Endpoint(
            customer_id=customer.id, kind="webhook", url=f"http://127.0.0.1:{port}/hook", secret=SECRET, created_at=now
        )
        session.add_all([notice, endpoint])
        if session.get(DataVersion, 1) is None:
            session.add(DataVersion(id=1, version=0, changed_at=now))
        session.flush()
        return notice.id, endpoint.id


def queue(db: Database, ids: tuple[int, int], count: int, due: datetime, tag: str) -> list[int]:
    notice_id, endpoint_id = ids
    rows = [
        {
            "notice_id": notice_id,
            "contact_id": None,
            "email": f"webhook endpoint {endpoint_id}",
            "message_id": f"msg_{tag}_{n}",
            "mime": BODY % n,
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": due,
            "uncertain": False,
            "created_at": due,
            "channel": "webhook",
            "endpoint_id": endpoint_id,
            "event": "occurrence.reminder",
        }
        for n in range(count)
    ]
    with db.transaction() as session:
        return list(session.scalars(insert(Delivery).returning(Delivery.id), rows))


def outcome(db: Database, ids: list[int]) -> tuple[int, datetime, list[datetime], str]:
    """Deliveries sent, the first claim, each worker's first claim, and what each worker sent when."""
    with db.transaction() as session:
        sent = session.scalar(select(func.count()).where(Delivery.id.in_(ids), Delivery.status == "sent"))
        rows = session.execute(
            select(func.min(DeliveryAttempt.started_at), func.max(DeliveryAttempt.finished_at), func.count())
            .where(DeliveryAttempt.delivery_id.in_(ids))
            .group_by(DeliveryAttempt.worker)
        ).all()
    utc = [(a, b or a, n) for a, b, n in rows]  # b: None while one is still in flight
    first = min(a for a, _, _ in utc)
    shares = ", ".join(f"{n} by {(b - first).total_seconds():.1f} s" for _, b, n in sorted(utc, key=lambda r: r[1]))
    return int(sent or 0), first, [a for a, _, _ in utc], shares


class Bench:
    def __init__(self, server: PgServer, db: Database, url: str, sink_port: int, sink: subprocess.Popen[bytes]) -> None:
        self.server, self.db, self.url, self.sink_port, self.sink = server, db, url, sink_port, sink
        self.ids = prepare(db, sink_port)
        self.settings = replace(Settings.from_env({}), database_url=url, webhook_allow_private=True, smtp_connections=4)
        self.rounds = 0

    def measure(self, side: str, count: int, run: dict[str, object]) -> Round:
        self.rounds += 1
        sink_stats(self.sink_port)  # counts start again
        commits0 = commits(self.db)
        if side == "in-process":
            ids = queue(self.db, self.ids, count, datetime.now(UTC), f"r{self.rounds}")
            sink0, db0, cpu0 = sink_stats(self.sink_port)["cpu_seconds"], postgres_cpu(self.server), time.process_time()
            send_due(self.db, self.settings, lambda: datetime.now(UTC))
            end = datetime.now(UTC)
            sender = time.process_time() - cpu0
        else:
            sender, end, ids, sink0, db0 = self._processes(count, run)
        after = sink_stats(self.sink_port)
        db_cpu = postgres_cpu(self.server) - db0
        sent, first, firsts, shares = outcome(self.db, ids)
        return Round(
            side,
            count,
            (end - first).total_seconds(),
            sent,
            int(after["duplicates"]),
            int(after["requests"]),
            sender,
            after["cpu_seconds"] - sink0,
            db_cpu,
            os.getloadavg()[0],
            (max(firsts) - min(firsts)).total_seconds(),
            commits(self.db) - commits0,  # the round's, and a few of the benchmark's own
            shares,
        )

    def _processes(self, count: int, run: dict[str, object]) -> tuple[float, datetime, list[int], float, float]:
        workers, tasks, lead = int(str(run["workers"])), int(str(run["tasks"])), float(str(run["lead"]))
        ids = queue(self.db, self.ids, count, datetime.now(UTC) + timedelta(days=1), f"r{self.rounds}")  # parked
        env = {
            **os.environ,
            "MAINTCAL_DATABASE_URL": self.url,
            "MAINTCAL_WEBHOOK_ALLOW_PRIVATE": "1",
            "MAINTCAL_SMTP_CONNECTIONS": str(tasks),
        }
        maintcal = shutil.which("maintcal", path=str(Path(sys.executable).parent)) or "maintcal"
        logs = tempfile.TemporaryDirectory()
        paths = [Path(logs.name) / f"w{n}.log" for n in range(workers)]
        procs = [
            subprocess.Popen(
                [maintcal, "worker", "--interval", "1"],  # polls every second while idle (60 by default)
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(path, "wb"),  # noqa: SIM115
                start_new_session=bool(run["sessions"]),
            )
            for path in paths
        ]
        if run["sessions"]:
            for p in procs:
                prioritise(p.pid, os.getpriority(os.PRIO_PROCESS, 0))
        profile = str(run.get("profile") or "")
        spy: subprocess.Popen[bytes] | None = None
        try:
            deadline = time.monotonic() + 300
            while not all("sending via" in path.read_text() for path in paths) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(2)  # each worker's first pass is done: it polls every second
            due = datetime.now(UTC) + timedelta(seconds=lead)  # every worker sees it within a second, sleeps until then
            with self.db.transaction() as session:
                session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(next_attempt_at=due))
            while datetime.now(UTC) < due - timedelta(seconds=0.3):
                time.sleep(0.05)
            if profile:  # a sampled profile of the first worker while it sends (py-spy, if installed)
                spy = subprocess.Popen(["py-spy", "record", "-p", str(procs[0].pid), "-f", "raw", "-o", profile])
            pids = [p.pid for p in procs]
            cpu0, sink0, db0 = cpu_of(pids), sink_stats(self.sink_port)["cpu_seconds"], postgres_cpu(self.server)
            end = self._wait_sent(ids, count, deadline=time.monotonic() + 600)
            sender = cpu_of(pids) - cpu0
        finally:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
            problems = [line for path in paths for line in path.read_text().splitlines()]
            errors = [line for line in problems if " ERROR " in line or "Traceback" in line]
            for line in errors[:5]:
                print(f"    worker log: {line}")
            logs.cleanup()
        return sender, end, ids, sink0, db0

    def _wait_sent(self, ids: list[int], count: int, deadline: float) -> datetime:
        """Poll (every 20 ms) until no delivery of the round is left unsent; the time it was seen.

        The query stops at the first delivery not yet ended (found by the status index): ~0.1 ms.
        """
        low, high = min(ids), max(ids)
        check = text(
            "SELECT EXISTS (SELECT 1 FROM deliveries"
            " WHERE status IN ('queued', 'sending') AND id BETWEEN :low AND :high)"
        )
        with self.db.engine.connect() as connection:
            while time.monotonic() < deadline:
                if not connection.execute(check, {"low": low, "high": high}).scalar_one():
                    return datetime.now(UTC)
                connection.rollback()
                time.sleep(0.02)
        return datetime.now(UTC)


def run(
    count: int,
    rounds: int,
    warmup: int,
    workers: int,
    tasks: int,
    lead: float,
    nice: int,
    profile: str = "",
    sessions: bool = True,
) -> None:
    session = 0
    if nice:  # this process and everything it starts; with autogroup scheduling, this session's group too
        os.nice(nice)
        session = prioritise(os.getpid(), nice)
    try:
        measure_all(count, rounds, warmup, workers, tasks, lead, profile, sessions)
    finally:
        if nice:
            prioritise(os.getpid(), session)


def measure_all(
    count: int, rounds: int, warmup: int, workers: int, tasks: int, lead: float, profile: str, sessions: bool
) -> None:
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    server = PgServer.start()
    if nice:  # PostgreSQL runs in a session (and scheduling group) of its own
        prioritise(int((server.directory / "data" / "postmaster.pid").read_text().split()[0]), nice)
    sink: subprocess.Popen[bytes] | None = None
    try:
        admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE hooks"))
        admin.dispose()
        url = server.url("hooks")
        upgrade(url)
        db = Database.open(url)
        port = free_port()
        sink = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "webhook_sink.py"), "--port", str(port)],
            start_new_session=sessions,
        )
        if sessions:
            prioritise(sink.pid, nice)
        wait_port(port, "the receiver")
        bench = Bench(server, db, url, port, sink)
        plan = {"workers": workers, "tasks": tasks, "lead": lead, "profile": profile, "sessions": sessions}
        print(
            f"webhooks on PostgreSQL: {count} per round, {rounds} round(s) alternating; in-process = send_due with 4 "
            f"sending tasks in this process; processes = {workers} 'maintcal worker' processes x {tasks} sending "
            f"task(s); receiver: raw asyncio protocol on uvloop (benchmarks/webhook_sink.py), one process; "
            f"nice {os.getpriority(os.PRIO_PROCESS, 0)} (scheduling group: {autogroup()}); "
            f"{OWN_SESSIONS if sessions else SHARED_SESSION}"
            "2 cores shared with whatever else runs"
        )
        print(f"warm-up ({warmup} deliveries each, not counted)")
        for side in ("in-process", "processes"):
            print(bench.measure(side, warmup, plan).line())
        results: dict[str, list[Round]] = {"in-process": [], "processes": []}
        for n in range(rounds):
            print(f"round {n + 1}")
            for side in ("in-process", "processes") if n % 2 == 0 else ("processes", "in-process"):
                result = bench.measure(side, count, plan)
                results[side].append(result)
                print(result.line())
        for side, done in results.items():
            rates = [r.rate for r in done]
            clean = all(r.sent == r.deliveries and r.duplicates == 0 for r in done)
            print(
                f"{side}: median {statistics.median(rates):.0f} deliveries/s (best {max(rates):.0f}, worst "
                f"{min(rates):.0f}); every delivery sent, no duplicate: {'yes' if clean else 'NO'}; load average "
                f"{min(r.load for r in done):.1f}-{max(r.load for r in done):.1f}"
            )
        db.dispose()
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait(10)
        server.stop()
