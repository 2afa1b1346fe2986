"""Concurrent decisions on one occurrence: the one that commits second decides on the first's result.

The race is made deterministic: a hook on the deciding transaction's connection lets a competing
decision commit at the worst moment (after the first one read the state, before it writes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select, text

from scheduler.occurrences import changes, unplanned
from scheduler.settings import Settings
from scheduler.store.db import Database, normalise_url
from scheduler.store.models import Override
from tests.integration.changes_fixtures import NOW, load, utc

OCC = "pe.nightly.20270302"


@contextmanager
def before_first(db: Database, statement: str, competitor: Callable[[], None]) -> Iterator[list[str]]:
    """Run ``competitor`` once, just before the first SQL statement starting with ``statement``."""
    fired: list[str] = []

    def hook(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not fired and sql.lstrip().upper().startswith(statement):
            fired.append(sql)
            competitor()

    event.listen(db.engine, "before_cursor_execute", hook)
    try:
        yield fired
    finally:
        event.remove(db.engine, "before_cursor_execute", hook)


def test_a_decision_that_lost_the_race_is_decided_again_after_the_winner(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    load(db)
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "outbox", uid_domain="test.example")
    other = Database.open(db_url)  # the competing process

    def competing_move() -> None:
        changes.change_occurrence(
            other, NOW, settings, OCC, action="move", reason="ops", new_start=utc("2027-03-06T05:00:00Z")
        )

    with before_first(db, "INSERT INTO OVERRIDES", competing_move) as fired:
        result = changes.change_occurrence(
            db, NOW, settings, OCC, action="move", reason="ops", customer="nile", new_start=utc("2027-03-07T05:00:00Z")
        )
    other.dispose()
    assert len(fired) == 1
    # The product-wide move committed first; nile's move was decided again on top of it.
    assert [(i.customer, i.status, i.start, i.sequence) for i in result.items] == [
        ("nile", "moved", utc("2027-03-07T05:00:00Z"), 2)
    ]
    with db.transaction() as session:
        rows = session.execute(select(Override.customer_id.is_(None), Override.decision).order_by(Override.decision))
        assert [tuple(r) for r in rows] == [(True, 1), (False, 2)]


def test_two_extensions_at_once_add_up(db: Database, db_url: str, tmp_path: Path) -> None:
    load(db)
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "outbox", uid_domain="test.example")
    start = utc("2027-01-05T00:00:00Z")
    unplanned.declare(db, NOW, settings, "pe", customers=[], start=start, duration=timedelta(hours=2), reason="x")
    other = Database.open(db_url)
    done: list[unplanned.UnplannedResult] = []

    def extend_elsewhere() -> None:
        done.append(unplanned.extend(other, NOW, settings, "pe.unplanned-1", by=timedelta(minutes=30), until=None))

    if db.is_postgres:
        # The first extension holds the row lock when it writes: the competitor waits for it.
        thread = threading.Thread(target=extend_elsewhere)

        def competitor() -> None:
            thread.start()
            _wait_for_a_lock_wait(db_url)

    else:
        # SQLite: the competitor commits after the first one read; the first is run again.
        competitor = extend_elsewhere
    with before_first(db, "UPDATE UNPLANNED", competitor) as fired:
        by = timedelta(minutes=30)
        first = unplanned.extend(db, NOW - timedelta(seconds=1), settings, "pe.unplanned-1", by=by, until=None)
    if db.is_postgres:
        thread.join()
    other.dispose()
    assert len(fired) == 1
    ends = sorted([(first.info.sequence, first.info.end), *((d.info.sequence, d.info.end) for d in done)])
    assert ends == [(1, utc("2027-01-05T02:30:00Z")), (2, utc("2027-01-05T03:00:00Z"))]


_LOCK_WAITS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


def _wait_for_a_lock_wait(db_url: str) -> None:
    """Return once another backend waits for a row lock (bounded: fails after 30 s)."""
    engine = create_engine(normalise_url(db_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for _ in range(600):
                waiting = conn.scalar(_LOCK_WAITS)
                if waiting:
                    return
                threading.Event().wait(0.05)
    finally:
        engine.dispose()
    raise AssertionError("the competing extension never waited for the row lock")
