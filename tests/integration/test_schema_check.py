"""The server and the worker refuse a database that is not at the latest Alembic revision.

Before: on an empty or older database ``/healthz`` said ok and the worker looped on "no such
table". Now ``maintcal serve``, ``uvicorn --factory scheduler.http.app:create_app_from_env`` and
``maintcal worker`` print one ``error:`` line and exit 2, and ``/healthz`` answers 503 when the
revision changes under a running server. "Latest" comes from the migrations' script directory,
so the expected revisions are read from it here too (never written down).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cli import maintcal
from commands.common import AppContext
from scheduler.http.app import create_app
from scheduler.notices.worker import run_worker
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.migrate import (
    SchemaGate,
    SchemaNotCurrent,
    check_schema,
    downgrade,
    head_revisions,
    scripts,
    upgrade,
)
from tests.conftest import NOW
from tests.feed_helpers import AppClient

CLI = [sys.executable, "-c", "from cli import main; main()"]
UVICORN = [sys.executable, "-m", "uvicorn", "--factory", "scheduler.http.app:create_app_from_env", "--port", "0"]
ROOT = Path(__file__).resolve().parents[2]


def head() -> str:
    [only] = head_revisions()
    return only


def previous() -> str:
    """The revision before the head, whatever the chain is."""
    down = scripts().get_revision(head()).down_revision
    assert isinstance(down, str)
    return down


def refusals(url: str, tmp_path: Path) -> list[tuple[int, str, str]]:
    """(exit code, stdout, stderr) of serve, serve --workers 2 and worker, each on ``url``."""
    results = []
    for args in (["serve", "--port", "0"], ["serve", "--port", "0", "--workers", "2"], ["worker"]):
        app = AppContext(Settings(database_url=url, pickup_dir=tmp_path / "pickup"))
        result = CliRunner().invoke(maintcal, args, obj=app)
        results.append((result.exit_code, result.stdout, result.stderr))
    return results


def test_a_current_database_passes(db: Database, db_url: str) -> None:
    check_schema(db)
    with AppClient(create_app(Settings(database_url=db_url), database=db)) as client:
        response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "data_version": 0})


def test_an_older_revision_is_refused(db_url: str, tmp_path: Path) -> None:
    downgrade(db_url, previous())
    message = f"database is at revision {previous()}, this maintcal needs {head()}: run maintcal db upgrade"
    with pytest.raises(SchemaNotCurrent) as error:
        create_app(Settings(database_url=db_url))
    assert error.value.message == message
    assert refusals(db_url, tmp_path) == [(2, "", f"error: {message}\n")] * 3
    upgrade(db_url)
    database = Database.open(db_url)
    check_schema(database)
    database.dispose()


def test_an_empty_database_is_refused(db_url: str, tmp_path: Path) -> None:
    downgrade(db_url, "base")
    message = "the database has no maintcal schema: run maintcal db upgrade"
    assert refusals(db_url, tmp_path) == [(2, "", f"error: {message}\n")] * 3


def test_a_missing_sqlite_file_is_refused_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    message = f"the database file {path} does not exist: run maintcal db upgrade"
    assert refusals(f"sqlite:///{path}", tmp_path) == [(2, "", f"error: {message}\n")] * 3
    assert not path.exists()


def test_a_database_from_a_newer_maintcal_is_refused(db: Database, db_url: str, tmp_path: Path) -> None:
    with db.transaction() as session:
        session.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    message = (
        f"database is at revision ffff, which this maintcal does not know (it needs {head()}): the database was "
        "upgraded by a newer maintcal; run that one"
    )
    assert refusals(db_url, tmp_path) == [(2, "", f"error: {message}\n")] * 3


def test_real_processes_refuse_with_one_line(db_url: str, tmp_path: Path) -> None:
    downgrade(db_url, previous())
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINTCAL_")}
    env.update(MAINTCAL_DATABASE_URL=db_url, MAINTCAL_PICKUP_DIR=str(tmp_path / "pickup"))
    message = f"error: database is at revision {previous()}, this maintcal needs {head()}: run maintcal db upgrade\n"
    for command in ([*CLI, "worker"], UVICORN):
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", message), command


def test_healthz_notices_a_revision_change_under_a_running_server(db: Database, db_url: str) -> None:
    with AppClient(create_app(Settings(database_url=db_url), database=db)) as client:
        assert client.get("/healthz").status_code == 200
        db.engine.dispose()  # idle connections would keep SQLite's old schema cached
        downgrade(db_url, previous())
        response = client.get("/healthz")
        assert (response.status_code, response.json()) == (
            503,
            {"error": f"database is at revision {previous()}, this maintcal needs {head()}: run maintcal db upgrade"},
        )
        upgrade(db_url)
        assert client.get("/healthz").status_code == 200


def test_the_worker_loop_stops_when_a_late_check_finds_another_revision(db_url: str, tmp_path: Path) -> None:
    """A worker started while the database was unreachable checks the revision when it answers."""
    downgrade(db_url, previous())
    database = Database.open(db_url)
    try:
        with pytest.raises(SchemaNotCurrent) as error:
            run_worker(
                database, Settings(database_url=db_url, pickup_dir=tmp_path / "pickup"), lambda: NOW,
                interval=0.01, sleep=lambda _: None, iterations=3, schema=SchemaGate(database),
            )  # fmt: skip
    finally:
        database.dispose()
    assert error.value.message == (
        f"database is at revision {previous()}, this maintcal needs {head()}: run maintcal db upgrade"
    )
