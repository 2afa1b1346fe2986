"""A SQLite file deleted or replaced under a running process is noticed, never written into.

A process keeps its open connections to the file it started with: after ``rm maintcal.db`` (or a
restore copied over it) it would go on writing into an unlinked file, and proof of notice sent
then would be lost. Now every transaction checks the file at the path against the one opened;
the worker stops with an error, the server answers 503 (``/healthz`` included). The old file is
kept reachable through a hard link so the tests can show that nothing was written into it.

SQLite only: a PostgreSQL database is not a file a process could lose under it.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from scheduler.catalogue import edits as catalogue
from scheduler.catalogue.apikeys import issue_api_key
from scheduler.http.app import create_app
from scheduler.occurrences import unplanned
from scheduler.settings import Settings
from scheduler.store.db import Database, DatabaseReplaced
from scheduler.store.models import Product
from scheduler.store.models_outbox import Delivery
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load

CLI = [sys.executable, "-c", "from cli import main; main()"]
ROOT = Path(__file__).resolve().parents[2]


def deleted(path: Path) -> str:
    return (
        f"the database file {path} was deleted while maintcal was running; nothing more is written: restore the "
        "file and restart maintcal"
    )


def replaced(path: Path) -> str:
    return (
        f"the database file {path} was replaced by another file while maintcal was running; nothing more is "
        "written: restart maintcal to use the new file"
    )


def remove(path: Path, keep: Path) -> None:
    """``rm maintcal.db*`` as an operator would, keeping the old file reachable as ``keep``."""
    os.link(path, keep)
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        name.unlink(missing_ok=True)


def count(path: Path, table: str, where: str = "1=1") -> int:
    """Rows in a SQLite file read directly, without any -wal beside it (it must hold everything)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(connection.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0])
    finally:
        connection.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def sqlite_copy(sqlite_template: Path, tmp_path: Path) -> Path:
    """A second migrated database, to be put where the first one was."""
    other = tmp_path / "other.db"
    other.write_bytes(sqlite_template.read_bytes())
    return other


def test_a_transaction_running_while_the_file_is_replaced_is_not_committed(
    sqlite_template: Path, sqlite_copy: Path, tmp_path: Path
) -> None:
    path, keep = tmp_path / "maintcal.db", tmp_path / "old.db"
    path.write_bytes(sqlite_template.read_bytes())
    db = Database.open(f"sqlite:///{path}")
    try:
        catalogue.add_product(db, NOW, "pe", "Premier Edition")
        db.engine.dispose()  # checkpointed: the file alone holds 'pe'
        with pytest.raises(DatabaseReplaced) as error, db.transaction() as session:
            session.add(Product(key="late", name="Late", notice_days=30, public=False, created_at=NOW, updated_at=NOW))
            session.flush()
            remove(path, keep)
            sqlite_copy.rename(path)
        assert error.value.message == replaced(path)
        with pytest.raises(DatabaseReplaced, match="was replaced by another file"):
            catalogue.list_products(db)
    finally:
        db.dispose()
    assert count(keep, "products") == 1  # 'late' was never committed into the old file
    assert count(path, "products") == 0  # nor into the new one


def test_the_server_answers_503_and_writes_nothing(sqlite_template: Path, sqlite_copy: Path, tmp_path: Path) -> None:
    path, keep = tmp_path / "maintcal.db", tmp_path / "old.db"
    path.write_bytes(sqlite_template.read_bytes())
    setup = Database.open(f"sqlite:///{path}")
    load(setup)
    key = issue_api_key(setup, NOW, "thames")
    setup.dispose()
    body = {"occurrence": "pe.nightly.20270302", "proposed_start": "2027-03-03T05:00:00Z"}
    client = ApiClient(create_app(Settings(database_url=f"sqlite:///{path}"), clock=lambda: NOW))  # its own engine
    try:
        assert client.call("GET", "/healthz").status_code == 200
        remove(path, keep)
        for method, route in (
            ("GET", "/healthz"),
            ("GET", "/products/pe.ics"),
            ("POST", "/api/v1/reschedule-requests"),
        ):
            response = client.call(method, route, key, json=body if method == "POST" else None)
            assert (response.status_code, response.json()) == (503, {"error": deleted(path)}), route
        sqlite_copy.rename(path)
        for method, route in (("GET", "/healthz"), ("POST", "/api/v1/reschedule-requests")):
            response = client.call(method, route, key, json=body if method == "POST" else None)
            assert (response.status_code, response.json()) == (503, {"error": replaced(path)}), route
    finally:
        client.close()
    assert count(keep, "reschedule_requests") == 0
    assert count(path, "reschedule_requests") == 0


def queue_unplanned(path: Path, due: datetime) -> int:
    """A product without windows (so planning writes nothing), two contacts, their notices due at ``due``."""
    db = Database.open(f"sqlite:///{path}")
    real_now = datetime.now(UTC).replace(microsecond=0)
    try:
        catalogue.add_product(db, real_now, "pe", "Premier Edition")
        catalogue.add_customer(db, real_now, "acme", "Acme", "Europe/London", ["a@acme.example", "b@acme.example"])
        catalogue.subscribe(db, real_now, "acme", ["pe"])
        settings = Settings(database_url=f"sqlite:///{path}")
        result = unplanned.declare(
            db, real_now, settings, "pe", customers=[], start=real_now + timedelta(hours=1),
            duration=timedelta(hours=1), reason="disk",
        )  # fmt: skip
        with db.transaction() as session:
            session.execute(update(Delivery).values(next_attempt_at=due))
            # The declaration's notice to each contact, and its 'started' and 'finished' notices.
            queued = session.scalar(select(func.count()).select_from(Delivery)) or 0
            assert (result.deliveries, queued) == (2, 6)
    finally:
        db.dispose()  # the last connection checkpoints: the file alone holds everything
    return queued


def open_files(pid: int, path: Path) -> int:
    """How many of the process's file descriptors are ``path`` (SQLite's and the guard's)."""
    fds = Path(f"/proc/{pid}/fd")
    links = []
    for fd in fds.iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:
            continue
    return links.count(str(path))


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_the_worker_stops_and_writes_nothing_into_the_old_file(
    how: str, sqlite_template: Path, sqlite_copy: Path, tmp_path: Path
) -> None:
    path, keep, pickup = tmp_path / "maintcal.db", tmp_path / "old.db", tmp_path / "pickup"
    path.write_bytes(sqlite_template.read_bytes())
    # Due in 60 s: a worker that went on with the old file would send them and record it there.
    queue_unplanned(path, datetime.now(UTC) + timedelta(seconds=60))
    # The replacement has notices due now: a worker that silently switched files would send them.
    queue_unplanned(sqlite_copy, datetime.now(UTC) - timedelta(minutes=1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINTCAL_")}
    env.update(MAINTCAL_DATABASE_URL=f"sqlite:///{path}", MAINTCAL_PICKUP_DIR=str(pickup))
    worker = subprocess.Popen(
        [*CLI, "worker", "--interval", "0.2"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while open_files(worker.pid, path) < 2:  # connected, and the guard holds the file
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "the worker never opened the database"
            time.sleep(0.05)
        before = sha256(path)
        remove(path, keep)
        if how == "replaced":
            sqlite_copy.rename(path)
        out, err = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    message = deleted(path) if how == "deleted" else replaced(path)
    assert worker.returncode == 1, err
    assert err.splitlines()[-1] == f"error: {message}"
    assert f"ERROR maintcal.worker: stopping: {message}" in err
    assert out == ""
    assert not pickup.exists() or list(pickup.iterdir()) == []
    assert sha256(keep) == before  # not a byte written into the old file
    assert count(keep, "deliveries", "status = 'queued' AND attempts = 0") == 6
    if how == "replaced":
        assert count(path, "deliveries", "status = 'queued' AND attempts = 0") == 6
