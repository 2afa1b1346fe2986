"""At most one pending reschedule request per (occurrence, customer), enforced by the database.

Concurrent POSTs through the real ASGI app, the index itself, and migration 0003 on a database
that already holds duplicates; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cli import maintcal
from commands.common import AppContext
from scheduler.catalogue.apikeys import issue_api_key
from scheduler.http.app import create_app
from scheduler.occurrences import reschedule
from scheduler.store.db import Database
from scheduler.store.migrate import downgrade, upgrade
from scheduler.store.models import Customer, Product, RescheduleRequest
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load, settings, utc
from windows.errors import Conflict

POSTS = 20
BODY = {"occurrence": "pe.nightly.20270302", "proposed_start": "2027-03-03T05:00:00Z", "reason": "freeze"}


@pytest.fixture
def loaded(db: Database) -> Database:
    load(db)
    return db


def _pending(db: Database) -> list[tuple[int, str, str]]:
    with db.transaction() as session:
        rows = session.execute(
            select(RescheduleRequest.id, RescheduleRequest.occurrence_id, Customer.key)
            .join(Customer, Customer.id == RescheduleRequest.customer_id)
            .where(RescheduleRequest.status == "pending")
            .order_by(RescheduleRequest.id)
        ).all()
    return [(i, o, c) for i, o, c in rows]


def test_concurrent_posts_record_exactly_one(loaded: Database, db_url: str, tmp_path: Path) -> None:
    key = issue_api_key(loaded, NOW, "thames")
    app = create_app(settings(tmp_path, db_url), database=loaded, clock=lambda: NOW)
    barrier = threading.Barrier(POSTS)
    answers: list[tuple[int, dict[str, object]]] = []
    lock = threading.Lock()

    def post() -> None:
        client = ApiClient(app)  # one event loop per thread, all on the same app and database
        try:
            barrier.wait()
            response = client.call("POST", "/api/v1/reschedule-requests", key, json=BODY)
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            client.close()

    threads = [threading.Thread(target=post) for _ in range(POSTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    created = [body for status, body in answers if status == 201]
    assert len(created) == 1, answers
    winner = created[0]["id"]
    assert isinstance(winner, int)
    refused = {"error": f"request {winner} for 'pe.nightly.20270302' is still pending"}
    assert sorted(status for status, _ in answers) == [201] + [409] * (POSTS - 1)
    assert [body for status, body in answers if status == 409] == [refused] * (POSTS - 1)
    assert _pending(loaded) == [(winner, "pe.nightly.20270302", "thames")]


def test_cli_refuses_a_second_pending_request(loaded: Database, db_url: str, tmp_path: Path) -> None:
    args = ["reschedule", "request", "pe.nightly.20270302", "--customer", "thames", "--to"]
    context = AppContext(settings(tmp_path, db_url), now=NOW)
    first = CliRunner().invoke(maintcal, [*args, "2027-03-03T05:00:00Z"], obj=context)
    assert (first.exit_code, first.stdout) == (0, "1\n")
    second = CliRunner().invoke(maintcal, [*args, "2027-03-03T06:00:00Z"], obj=context)
    assert (second.exit_code, second.stdout, second.stderr) == (
        2,
        "",
        "error: request 1 for 'pe.nightly.20270302' is still pending\n",
    )


def test_a_decided_request_does_not_block_the_next(loaded: Database, tmp_path: Path, db_url: str) -> None:
    def ask(customer: str) -> int:
        return reschedule.request(
            loaded,
            NOW,
            customer=customer,
            occurrence_id="pe.nightly.20270302",
            proposed_start=utc(BODY["proposed_start"]),
        ).id

    first = ask("thames")
    assert (first, ask("harbour")) == (1, 2)  # another customer, same occurrence: its own pending request
    with pytest.raises(Conflict) as refused:
        ask("thames")
    assert refused.value.message == "request 1 for 'pe.nightly.20270302' is still pending"
    reschedule.reject(loaded, NOW, settings(tmp_path, db_url), first, "no")
    second = ask("thames")
    assert [(i, c) for i, _, c in _pending(loaded)] == [(2, "harbour"), (second, "thames")]


def test_the_database_itself_refuses_a_second_pending_row(loaded: Database) -> None:
    first = reschedule.request(
        loaded, NOW, customer="thames", occurrence_id="pe.nightly.20270302", proposed_start=utc("2027-03-03T05:00:00Z")
    )
    with pytest.raises(IntegrityError), loaded.transaction() as session:
        session.add(_row(session, "pe.nightly.20270302", "thames", "pending"))
    with loaded.transaction() as session:  # not pending: any number of them
        session.add(_row(session, "pe.nightly.20270302", "thames", "rejected"))
        session.add(_row(session, "pe.nightly.20270302", "thames", "approved"))
    assert [i for i, _, _ in _pending(loaded)] == [first.id]


def _row(session: Session, occurrence: str, customer: str, status: str) -> RescheduleRequest:
    product = session.scalar(select(Product.id).where(Product.key == occurrence.split(".")[0]))
    cust = session.scalar(select(Customer.id).where(Customer.key == customer))
    assert product is not None and cust is not None
    return RescheduleRequest(
        product_id=product,
        occurrence_id=occurrence,
        customer_id=cust,
        proposed_start=utc("2027-03-03T05:00:00Z"),
        proposed_end=utc("2027-03-03T08:00:00Z"),
        status=status,
        created_at=NOW,
    )


def test_migration_closes_duplicates_written_before_it(
    loaded: Database, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    downgrade(db_url, "0003-1")  # the schema before the index: duplicates could be written
    rows = [
        ("pe.nightly.20270302", "thames", "pending"),  # 1: oldest, stays pending
        ("pe.nightly.20270302", "thames", "rejected"),  # 2: decided, untouched
        ("pe.nightly.20270302", "thames", "pending"),  # 3: duplicate
        ("pe.nightly.20270302", "harbour", "pending"),  # 4: another customer, stays pending
        ("pe.nightly.20270304", "thames", "pending"),  # 5: another occurrence, stays pending
        ("pe.nightly.20270302", "thames", "pending"),  # 6: duplicate
        ("pe.nightly.20270304", "thames", "pending"),  # 7: duplicate
    ]
    with loaded.transaction() as session:
        for occurrence, customer, status in rows:
            session.add(_row(session, occurrence, customer, status))
            session.flush()
    before = datetime.now(UTC)
    with caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
        upgrade(db_url)
    after = datetime.now(UTC)

    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "rejected 3 duplicate pending reschedule request(s): [3, 6, 7]"
    ]
    with loaded.transaction() as session:
        found = session.execute(
            select(
                RescheduleRequest.id,
                RescheduleRequest.status,
                RescheduleRequest.decision_note,
                RescheduleRequest.decided_at,
            ).order_by(RescheduleRequest.id)
        ).all()
    note = "duplicate pending request closed by migration 0003"
    assert [(i, s, n) for i, s, n, _ in found] == [
        (1, "pending", None),
        (2, "rejected", None),
        (3, "rejected", note),
        (4, "pending", None),
        (5, "pending", None),
        (6, "rejected", note),
        (7, "rejected", note),
    ]
    closed_at = {d for i, _, _, d in found if i in (3, 6, 7)}
    assert len(closed_at) == 1
    [instant] = closed_at
    assert instant is not None and before <= instant <= after
    with pytest.raises(Conflict) as refused:
        reschedule.request(
            loaded,
            NOW,
            customer="thames",
            occurrence_id="pe.nightly.20270302",
            proposed_start=utc("2027-03-03T05:00:00Z"),
        )
    assert refused.value.message == "request 1 for 'pe.nightly.20270302' is still pending"
