"""Shared fixtures: real SQLite and a real throwaway PostgreSQL, migrated with Alembic.

``db`` is parametrized over both back ends, so every database test runs twice. PostgreSQL is
never skipped: if it cannot start, the tests fail.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from scheduler.store.db import Database
from scheduler.store.migrate import upgrade
from tests.pgserver import PgServer
from tests.webhook_receiver import Receiver

_counter = itertools.count()
NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer.start()
    engine = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE DATABASE maintcal_template"))
    engine.dispose()
    upgrade(server.url("maintcal_template"))
    try:
        yield server
    finally:
        server.stop()


def new_pg_database(server: PgServer) -> str:
    name = f"maintcal_{next(_counter)}"
    engine = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE maintcal_template"))
    engine.dispose()
    return server.url(name)


def drop_pg_database(server: PgServer, name: str) -> None:
    """Free the disk: hundreds of copies of the template would otherwise pile up in one session."""
    engine = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database URL: SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "maintcal.db"
        path.write_bytes(sqlite_template.read_bytes())
        return f"sqlite:///{path}"
    server: PgServer = request.getfixturevalue("pg_server")
    url = new_pg_database(server)
    request.addfinalizer(lambda: drop_pg_database(server, url.rsplit("/", 1)[1]))
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.open(db_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real webhook receiver on a free loopback port (``tests/webhook_receiver.py``), stopped after."""
    running = Receiver().start()
    try:
        yield running
    finally:
        running.stop()
