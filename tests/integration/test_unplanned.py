"""Unplanned maintenance: declare, extend, end, list; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.occurrences import unplanned
from scheduler.occurrences.schedule import occurrences
from scheduler.store.db import Database
from tests.integration.changes_fixtures import NOW, load, settings, utc
from windows.errors import InvalidInput, NotFound


@pytest.fixture
def loaded(db: Database) -> Database:
    load(db)
    return db


def test_declare_for_named_customers_then_extend_and_end(loaded: Database, tmp_path: Path, db_url: str) -> None:
    conf = settings(tmp_path, db_url)
    declared = unplanned.declare(
        loaded, NOW, conf, "pe", customers=["thames"], start=NOW, duration=timedelta(hours=2), reason="disk failure"
    )
    assert (declared.info.id, declared.affected, declared.deliveries) == ("pe.unplanned-1", ["thames"], 2)
    assert (declared.info.start, declared.info.end, declared.info.sequence) == (NOW, NOW + timedelta(hours=2), 0)
    with loaded.transaction() as session:
        thames = occurrences(session, NOW, NOW + timedelta(hours=6), customer="thames")
        nile = occurrences(session, NOW, NOW + timedelta(hours=6), customer="nile")
    assert [(s.id, s.kind, s.timezone, s.local_start.isoformat(), s.notice_deadline) for s in thames] == [
        ("pe.unplanned-1", "unplanned", "Europe/London", "2027-01-04T12:00:00+00:00", None)
    ]
    assert nile == []

    extended = unplanned.extend(loaded, NOW, conf, "pe.unplanned-1", by=timedelta(minutes=90), until=None)
    assert (extended.info.end, extended.info.sequence, extended.deliveries) == (utc("2027-01-04T15:30:00Z"), 1, 2)
    ended = unplanned.end(loaded, NOW + timedelta(hours=1), conf, "pe.unplanned-1", at=NOW + timedelta(hours=1))
    assert (ended.info.end, ended.info.sequence, ended.info.state) == (utc("2027-01-04T13:00:00Z"), 2, "ended")

    second = unplanned.declare(
        loaded, NOW, conf, "pe", customers=[], start=NOW, end=utc("2027-01-04T14:00:00Z"), reason="network"
    )
    assert (second.info.id, second.affected, second.deliveries) == ("pe.unplanned-2", ["harbour", "nile", "thames"], 4)
    listed = unplanned.list_unplanned(loaded, NOW + timedelta(minutes=30))
    assert [(i.id, i.state, i.customers) for i in listed] == [
        ("pe.unplanned-1", "open", ["thames"]),
        ("pe.unplanned-2", "open", []),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration": timedelta(hours=1), "end": utc("2027-01-04T14:00:00Z")}, "exactly one of --duration or --end"),
        ({}, "exactly one of --duration or --end"),
        ({"end": utc("2027-01-04T11:00:00Z")}, "is not after the start"),
        ({"duration": timedelta(days=8)}, "at most 7 days"),
        ({"duration": timedelta(hours=1), "customers": ["nile"], "product": "pc"}, "does not subscribe to 'pc'"),
        ({"duration": timedelta(hours=1), "reason": ""}, "--reason must not be empty"),
    ],
)
def test_bad_declarations(
    loaded: Database, tmp_path: Path, db_url: str, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"customers": [], "start": NOW, "reason": "r", **kwargs}
    product = str(args.pop("product", "pe"))
    with pytest.raises(InvalidInput, match=message):
        unplanned.declare(loaded, NOW, settings(tmp_path, db_url), product, **args)  # type: ignore[arg-type]


def test_bad_extend_and_end(loaded: Database, tmp_path: Path, db_url: str) -> None:
    conf = settings(tmp_path, db_url)
    unplanned.declare(loaded, NOW, conf, "pe", customers=[], start=NOW, duration=timedelta(hours=2), reason="r")
    with pytest.raises(InvalidInput, match="use 'maintcal unplanned end'"):
        unplanned.extend(loaded, NOW, conf, "pe.unplanned-1", by=None, until=NOW + timedelta(hours=1))
    with pytest.raises(InvalidInput, match="after the planned end"):
        unplanned.end(loaded, NOW, conf, "pe.unplanned-1", at=NOW + timedelta(hours=3))
    with pytest.raises(InvalidInput, match="not after the start"):
        unplanned.end(loaded, NOW, conf, "pe.unplanned-1", at=NOW)
    with pytest.raises(NotFound, match=r"no unplanned maintenance 'pe\.unplanned-9'"):
        unplanned.end(loaded, NOW, conf, "pe.unplanned-9", at=NOW)
    with pytest.raises(InvalidInput, match="invalid unplanned id"):
        unplanned.end(loaded, NOW, conf, "pe.nightly.20270302", at=NOW)
