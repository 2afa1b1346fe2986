"""Notices written together (``write_outgoing``: a few multi-row INSERTs) are the rows, ids and
bytes that writing them one at a time gives: the planning run writes every reminder in one batch.

Two databases built alike: one gets every notice in one call (on PostgreSQL by COPY), the other one
call per notice, by INSERT (how the reminders were written before); their outbox tables must be
equal, column for column.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from notifications.content import ANNOUNCE
from scheduler.catalogue import edits as catalogue
from scheduler.catalogue import endpoints
from scheduler.notices import bulk_rows, enqueue
from scheduler.notices.enqueue import Outgoing, write_outgoing
from scheduler.occurrences.schedule import occurrences
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product
from scheduler.store.models_endpoints import Endpoint
from scheduler.store.models_outbox import Delivery, DeliveryOccurrence, Notice
from tests.conftest import drop_pg_database, new_pg_database
from tests.integration.notice_fixtures import NOW, build, settings_for

Rows = dict[str, list[tuple[Any, ...]]]


@pytest.fixture
def twin_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path, sqlite_template: Path) -> str:
    """A second migrated, empty database on the same back end as ``db_url``."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "twin.db"
        path.write_bytes(sqlite_template.read_bytes())
        return f"sqlite:///{path}"
    server = request.getfixturevalue("pg_server")
    url = new_pg_database(server)
    request.addfinalizer(lambda: drop_pg_database(server, url.rsplit("/", 1)[1]))
    return url


def prepare(db: Database, conf: Settings) -> None:
    """acme (3 contacts, a webhook) and bolt (2 contacts, another zone), both on pe."""
    build(db)
    before = NOW - timedelta(days=7)
    catalogue.add_customer(db, before, "bolt", "Bolt, Ltd", "Asia/Kolkata", ["noc@bolt.example", "ops@bolt.example"])
    catalogue.subscribe(db, before, "bolt", ["pe"])
    endpoints.add_endpoint(db, NOW, conf, "acme", "webhook", "https://hooks.acme.example/maint")


def notices(session: Session) -> list[Outgoing]:
    """Announcements, reminders to some contacts and endpoints, an endpoint-only notice, one with none."""
    acme, bolt = session.scalars(select(Customer).options(selectinload(Customer.contacts)).order_by(Customer.key)).all()
    [hook] = session.scalars(select(Endpoint.id)).all()
    ours = occurrences(session, NOW, NOW + timedelta(days=60), customer="acme")
    theirs = occurrences(session, NOW, NOW + timedelta(days=60), customer="bolt")
    first = ours[0]
    return [
        Outgoing(acme, [(c, tuple(ours[:3])) for c in acme.contacts] + [(None, tuple(ours[:3]))], ANNOUNCE, None),
        Outgoing(bolt, [(bolt.contacts[0], tuple(theirs[:2])), (bolt.contacts[1], tuple(theirs[:1]))], ANNOUNCE, None),
        Outgoing(
            acme,
            [(c, (first,)) for c in acme.contacts[:2]],
            "reminder",
            "Starts in 2 d.",
            endpoints={hook},
            due_at=first.start - timedelta(hours=48),
            due_key=f"acme/reminder/{first.id}/48h",
            extra={"lead": "48h"},
        ),
        Outgoing(
            acme, [(None, (first,))], "started", "In progress.", endpoints={hook}, due_at=first.start, due_key="s"
        ),
        Outgoing(bolt, [(None, (theirs[0],))], "started", "In progress.", endpoints=set(), due_at=first.start),
        Outgoing(bolt, [(c, (theirs[0],)) for c in bolt.contacts], "reminder", "Soon.", endpoints=set(), due_key="r"),
    ]


def outbox(db: Database) -> Rows:
    with db.transaction() as session:
        return {
            model.__tablename__: [tuple(row) for row in session.execute(select(model.__table__).order_by(model.id))]
            for model in (Notice, Delivery, DeliveryOccurrence)
        }


@pytest.mark.parametrize("flush_every", [500, 2])
def test_notices_written_in_one_batch_equal_those_written_one_by_one(
    db: Database, db_url: str, twin_url: str, tmp_path: Path, flush_every: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enqueue, "_FLUSH_EVERY", flush_every)  # deliveries written across several INSERTs
    conf = settings_for(db_url, tmp_path, base_url="https://maint.example.com")
    twin = Database.open(twin_url)
    try:
        prepare(db, conf)
        prepare(twin, conf)
        with db.transaction() as session:
            names = dict(session.execute(select(Product.key, Product.name)).all())
            monkeypatch.setattr(bulk_rows, "COPY_FROM", 1)  # on PostgreSQL: every table by COPY
            together = write_outgoing(session, NOW, conf, notices(session), names)
        monkeypatch.setattr(bulk_rows, "COPY_FROM", 10**9)  # every table by INSERT
        with twin.transaction() as session:
            apart = sum(write_outgoing(session, NOW, conf, [n], names) for n in notices(session))
        batched, single = outbox(db), outbox(twin)
    finally:
        twin.dispose()
    # acme's digest to 3 contacts and its webhook (3 occurrences), bolt's 2; acme's reminder to 2
    # contacts and the webhook, its endpoint-only started notice; bolt's (no endpoint) none; 2 reminders.
    assert together == apart == 3 + 3 + 2 + 3 + 1 + 0 + 2
    kinds = [(row[1], row[3]) for row in batched["notices"]]
    assert kinds == [
        ("announce", 1),
        ("announce", 2),
        ("reminder", 1),
        ("started", 1),
        ("started", 2),
        ("reminder", 2),
    ]
    assert len(batched["delivery_occurrences"]) == 3 * 3 + 3 + 2 + 1 + 3 + 1 + 0 + 2
    assert batched == single


def test_a_unique_key_broken_by_a_batch_raises_what_an_insert_raises(
    db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planning run re-plans on IntegrityError (another run announced the same times first)."""
    monkeypatch.setattr(bulk_rows, "COPY_FROM", 1)  # on PostgreSQL: by COPY
    conf = settings_for(db_url, tmp_path)
    prepare(db, conf)
    with db.transaction() as session:
        names = dict(session.execute(select(Product.key, Product.name)).all())
        write_outgoing(session, NOW, conf, notices(session)[1:2], names)
    with pytest.raises(IntegrityError, match="delivery_occurrences"), db.transaction() as session:
        write_outgoing(session, NOW, conf, notices(session)[1:2], names)  # bolt's digests again
