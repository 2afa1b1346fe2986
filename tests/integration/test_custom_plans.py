"""PostgreSQL plans every execution of a batched read for its own parameters (``db._custom_plans``).

With psycopg's automatic preparing, the eleventh run of the same ``customer_id IN (500 ids)``
statement got PostgreSQL's generic plan, which scanned every outbox row: compliance at 50,000
customers went from ~0.5 s a batch to 35 s. The plan chosen for the eleventh run is checked here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from scheduler.store.db import Database
from tests.conftest import drop_pg_database, new_pg_database
from tests.pgserver import PgServer


@pytest.fixture
def pg(pg_server: PgServer) -> Iterator[Database]:
    url = new_pg_database(pg_server)
    database = Database.open(url)
    try:
        yield database
    finally:
        database.dispose()
        drop_pg_database(pg_server, url.rsplit("/", 1)[1])


def test_every_connection_plans_each_execution(pg: Database) -> None:
    with pg.transaction() as session:
        assert session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"


def test_the_eleventh_run_of_a_prepared_statement_gets_a_custom_plan(pg: Database) -> None:
    with pg.transaction() as session:
        session.execute(text("PREPARE batch(int) AS SELECT count(*) FROM customers WHERE id = $1"))
        for n in range(11):
            session.execute(text(f"EXECUTE batch({n})"))
        plan = session.execute(text("EXPLAIN EXECUTE batch(7)")).scalars().all()
    # A generic plan shows the parameter ($1); a custom plan the value itself.
    assert any("id = 7" in line for line in plan), plan
