"""Database access: one engine and session factory per process, SQLite or PostgreSQL.

A SQLite file is watched: if the file at the path is deleted or replaced while a process runs,
every transaction of that process fails with ``DatabaseReplaced`` instead of writing into the
unlinked file, where proof of notice would be lost (see ``SqliteFileGuard``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import URL, DateTime, Engine, create_engine, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from windows.errors import InvalidInput, MaintcalError


class DatabaseReplaced(MaintcalError):
    """The SQLite file this process opened was deleted or replaced under it: restart the process."""

    exit_code = 1
    http_status = 503


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def check_url(url: str) -> URL:
    """The parsed database URL; bad ones are refused with messages that never show the password."""
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise InvalidInput(f"unsupported database URL '{url.split(':')[0]}': use sqlite:///FILE or postgresql://...")
    after_user = url.partition("://")[2].partition("@")[2]
    if "@" in after_user.partition("/")[0]:
        raise InvalidInput("the database URL holds an unencoded '@' in its user or password: write it as %40")
    try:
        return make_url(url)
    except ValueError:  # int(port)
        raise InvalidInput("the database URL has an invalid port: postgresql://USER@HOST:5432/DB") from None
    except ArgumentError:
        raise InvalidInput(
            "the database URL cannot be parsed: use sqlite:///FILE or postgresql://USER@HOST/DB"
        ) from None


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    check_url(url)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _custom_plans)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        path = sqlite_file(engine)
        if path is not None:
            guard = SqliteFileGuard(path)
            event.listen(engine, "connect", guard.pin)
            event.listen(engine, "begin", guard.check)
            event.listen(engine, "commit", guard.check)
            event.listen(engine, "engine_disposed", guard.close)
    return engine


def _custom_plans(dbapi_connection: Any, _record: Any) -> None:
    """PostgreSQL plans each execution for its own parameters, never with a cached generic plan.

    psycopg prepares a statement run five times, and PostgreSQL then switches to a generic plan
    after five more when it looks no dearer. For the batched reads (``customer_id IN`` 500 ids and
    a date range) that plan scans every outbox row: compliance at 50,000 customers went from
    ~0.5 s a batch to 35 s at the eleventh (benchmarks/scale.py). Planning each time costs well
    under a millisecond here.
    """
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


def sqlite_file(engine: Engine) -> str | None:
    """The absolute path of a file-backed SQLite engine; None for memory or URI databases."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or engine.url.query:
        return None
    return os.path.abspath(database)


class SqliteFileGuard:
    """Notices a SQLite file deleted or replaced under a running process.

    When the first connection opens the file, the guard opens it too (read-only) and keeps it
    open, which pins its inode (its number cannot be reused while held). Every check, at the start
    and at the commit of each transaction, compares the file now at the path with the pinned one
    (device and inode) and raises ``DatabaseReplaced`` when it is gone or another file: nothing is
    committed into a file that no longer is the database.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()

    def pin(self, *_: Any) -> None:
        """Hold the file the engine has just opened (first connection only)."""
        with self._lock:
            if self._fd is None:
                with suppress(FileNotFoundError):  # gone already: the first check reports it
                    self._fd = os.open(self.path, os.O_RDONLY)

    def check(self, *_: Any) -> None:
        deleted = DatabaseReplaced(
            f"the database file {self.path} was deleted while maintcal was running; nothing more is "
            "written: restore the file and restart maintcal"
        )
        self.pin()
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            raise deleted from None
        with self._lock:
            if self._fd is None:
                raise deleted
            pinned = os.fstat(self._fd)
        if (now.st_dev, now.st_ino) != (pinned.st_dev, pinned.st_ino):
            raise DatabaseReplaced(
                f"the database file {self.path} was replaced by another file while maintcal was running; "
                "nothing more is written: restart maintcal to use the new file"
            )

    def close(self, *_: Any) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def open(cls, url: str) -> Database:
        engine = make_engine(url)
        return cls(engine, sessionmaker(engine, expire_on_commit=False))

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
