"""``driver_rows``: psycopg's tuples in the session's transaction, and a database error raised as
SQLAlchemy raises it (the CLI's one-line errors catch those). PostgreSQL: the only place it is used."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import ProgrammingError

from scheduler.store.db import Database
from scheduler.store.driver_rows import driver_rows, naive_utc, on_postgresql
from scheduler.store.models import Product
from tests.conftest import drop_pg_database, new_pg_database
from tests.pgserver import PgServer


@pytest.fixture
def pg_db(pg_server: PgServer) -> Iterator[Database]:
    url = new_pg_database(pg_server)
    db = Database.open(url)
    yield db
    db.dispose()
    drop_pg_database(pg_server, url.rsplit("/", 1)[1])


def test_rows_written_in_the_same_transaction_come_back_as_tuples(pg_db: Database) -> None:
    created = datetime(2027, 2, 1, 12, tzinfo=UTC)
    with pg_db.transaction() as session:
        assert on_postgresql(session)
        session.add(Product(key="pe", name="Premier", notice_days=30, created_at=created, updated_at=created))
        session.flush()
        rows = driver_rows(
            session, "SELECT key, notice_days, created_at FROM products WHERE created_at = %s", [naive_utc(created)]
        )
    assert rows == [("pe", 30, datetime(2027, 2, 1, 12))]


def test_a_database_error_is_raised_as_sqlalchemy_raises_it(pg_db: Database) -> None:
    with (
        pytest.raises(ProgrammingError, match='relation "no_such_table" does not exist'),
        pg_db.transaction() as session,
    ):
        driver_rows(session, "SELECT 1 FROM no_such_table WHERE id = ANY(%s)", [[1, 2]])


def test_naive_utc_converts_any_offset() -> None:
    assert naive_utc(datetime(2027, 2, 1, 7, tzinfo=timezone(timedelta(hours=-5)))) == datetime(2027, 2, 1, 12)
