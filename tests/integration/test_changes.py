"""Ops' cancel and move of occurrences, product-wide and per customer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.occurrences.changes import change_occurrence
from scheduler.occurrences.schedule import find_occurrence, occurrences
from scheduler.store.db import Database
from tests.integration.changes_fixtures import NOW, load, settings, utc
from windows.errors import Conflict, InvalidInput, NotFound, PolicyRefused


@pytest.fixture
def loaded(db: Database) -> Database:
    load(db)
    return db


def _view(db: Database, customer: str, occurrence_id: str) -> tuple[str, str, str, int] | None:
    with db.transaction() as session:
        found = find_occurrence(session, occurrence_id, customer)
    if found is None:
        return None
    return found.status, found.start.isoformat(), found.end.isoformat(), found.sequence


def test_product_wide_cancel_reaches_every_subscriber(loaded: Database, tmp_path: Path, db_url: str) -> None:
    result = change_occurrence(
        loaded, NOW, settings(tmp_path, db_url), "pe.nightly.20270302", action="cancel", reason="hardware swap"
    )
    assert result.customers == ["harbour", "nile", "thames"]
    assert result.deliveries == 4  # 1 + 1 + 2 contacts
    for customer in ("harbour", "nile", "thames"):
        assert _view(loaded, customer, "pe.nightly.20270302") == (
            "cancelled",
            "2027-03-02T05:00:00+00:00",
            "2027-03-02T08:00:00+00:00",
            1,
        )
    with loaded.transaction() as session:
        listed = occurrences(session, utc("2027-03-01T00:00:00Z"), utc("2027-03-03T00:00:00Z"), customer="thames")
        everything = occurrences(
            session, utc("2027-03-01T00:00:00Z"), utc("2027-03-03T00:00:00Z"), customer="thames", include_cancelled=True
        )
    assert [s.id for s in listed] == ["pc.early.20270302.thames"]
    assert [(s.id, s.status) for s in everything] == [
        ("pc.early.20270302.thames", "scheduled"),
        ("pe.nightly.20270302", "cancelled"),
    ]


def test_customer_move_keeps_length_and_leaves_others_alone(loaded: Database, tmp_path: Path, db_url: str) -> None:
    result = change_occurrence(
        loaded,
        NOW,
        settings(tmp_path, db_url),
        "pe.nightly.20270302",
        action="move",
        customer="thames",
        new_start=utc("2027-03-03T06:00:00Z"),
        reason="month-end close",
    )
    assert result.customers == ["thames"]
    assert result.deliveries == 2
    assert _view(loaded, "thames", "pe.nightly.20270302") == (
        "moved",
        "2027-03-03T06:00:00+00:00",
        "2027-03-03T09:00:00+00:00",
        1,
    )
    assert _view(loaded, "harbour", "pe.nightly.20270302") == (
        "scheduled",
        "2027-03-02T05:00:00+00:00",
        "2027-03-02T08:00:00+00:00",
        0,
    )
    # A second change raises the sequence again; the move out of its original day is still found by id.
    change_occurrence(
        loaded, NOW, settings(tmp_path, db_url), "pe.nightly.20270302", action="cancel", customer="thames", reason="x"
    )
    assert _view(loaded, "thames", "pe.nightly.20270302") == (
        "cancelled",
        "2027-03-03T06:00:00+00:00",
        "2027-03-03T09:00:00+00:00",
        2,
    )


def test_local_rule_id_names_the_customer(loaded: Database, tmp_path: Path, db_url: str) -> None:
    # pc.early on Tue 2027-03-02 00:00-06:00 Sydney (AEDT, +11) = 2027-03-01 13:00Z - 19:00Z.
    result = change_occurrence(
        loaded,
        NOW,
        settings(tmp_path, db_url),
        "pc.early.20270302.harbour",
        action="move",
        new_start=utc("2027-03-03T13:00:00Z"),
        reason="customer go-live",
    )
    assert result.customers == ["harbour"]
    assert _view(loaded, "harbour", "pc.early.20270302.harbour") == (
        "moved",
        "2027-03-03T13:00:00+00:00",
        "2027-03-03T19:00:00+00:00",
        1,
    )
    assert _view(loaded, "thames", "pc.early.20270302.thames") == (
        "scheduled",
        "2027-03-02T00:00:00+00:00",
        "2027-03-02T06:00:00+00:00",
        0,
    )


def test_move_inside_notice_period_needs_a_waiver(loaded: Database, tmp_path: Path, db_url: str) -> None:
    conf = settings(tmp_path, db_url)
    with pytest.raises(PolicyRefused, match="less than 30 days away"):
        change_occurrence(
            loaded, NOW, conf, "pe.nightly.20270302", action="move", new_start=NOW + timedelta(days=10), reason="r"
        )
    change_occurrence(
        loaded,
        NOW,
        conf,
        "pe.nightly.20270302",
        action="move",
        new_start=utc("2027-01-15T05:00:00Z"),
        reason="urgent",
        waive_notice="security fix",
    )
    with loaded.transaction() as session:
        found = find_occurrence(session, "pe.nightly.20270302", "nile")
    assert found is not None
    assert (found.waived, found.start.isoformat()) == ("security fix", "2027-01-15T05:00:00+00:00")


@pytest.mark.parametrize(
    ("occurrence_id", "kwargs", "error", "message"),
    [
        ("pe.nightly.20270303", {}, NotFound, "no occurrence 'pe.nightly.20270303'"),
        ("nope.nightly.20270302", {}, NotFound, "no product 'nope'"),
        ("pe.weekly.20270302", {}, NotFound, "has no window 'weekly'"),
        ("pe.unplanned-1", {}, InvalidInput, "unplanned extend|end"),
        ("garbage", {}, InvalidInput, "invalid occurrence id"),
        ("pe.nightly.20270302", {"reason": " "}, InvalidInput, "--reason must not be empty"),
        ("pc.early.20270302.thames", {"customer": "harbour"}, InvalidInput, "belongs to customer 'thames'"),
    ],
)
def test_bad_changes_are_refused(
    loaded: Database,
    tmp_path: Path,
    db_url: str,
    occurrence_id: str,
    kwargs: dict[str, str],
    error: type[Exception],
    message: str,
) -> None:
    args: dict[str, Any] = {"reason": "r", **kwargs}
    with pytest.raises(error, match=message):
        change_occurrence(loaded, NOW, settings(tmp_path, db_url), occurrence_id, action="cancel", **args)


def test_cannot_cancel_twice_or_change_the_past(loaded: Database, tmp_path: Path, db_url: str) -> None:
    conf = settings(tmp_path, db_url)
    change_occurrence(loaded, NOW, conf, "pe.nightly.20270302", action="cancel", reason="r")
    with pytest.raises(Conflict, match="already cancelled"):
        change_occurrence(loaded, NOW, conf, "pe.nightly.20270302", action="cancel", reason="r")
    later = utc("2027-03-10T00:00:00Z")
    with pytest.raises(Conflict, match="already ended at 2027-03-04T08:00:00Z"):
        change_occurrence(loaded, later, conf, "pe.nightly.20270304", action="cancel", reason="r")


@pytest.mark.parametrize("customer", [None, "thames"])
def test_a_move_onto_the_next_occurrence_of_the_same_window_is_refused(
    loaded: Database, tmp_path: Path, db_url: str, customer: str | None
) -> None:
    """pe.nightly runs Tue and Thu 05:00Z-08:00Z: moving Tuesday's to Thursday 06:00Z would overlap."""
    with pytest.raises(PolicyRefused) as refused:
        change_occurrence(
            loaded,
            NOW,
            settings(tmp_path, db_url),
            "pe.nightly.20270302",
            action="move",
            reason="collides",
            customer=customer,
            new_start=utc("2027-03-04T06:00:00Z"),
        )
    assert str(refused.value) == (
        "the new time overlaps occurrence 'pe.nightly.20270304' (2027-03-04T05:00:00Z - 2027-03-04T08:00:00Z)"
        " of the same window: move or cancel that one first"
    )
    assert _view(loaded, "thames", "pe.nightly.20270302") == (
        "scheduled",
        "2027-03-02T05:00:00+00:00",
        "2027-03-02T08:00:00+00:00",
        0,
    )
    # Right after the next one ends is fine.
    moved = change_occurrence(
        loaded,
        NOW,
        settings(tmp_path, db_url),
        "pe.nightly.20270302",
        action="move",
        reason="after thursday's",
        customer=customer,
        new_start=utc("2027-03-04T08:00:00Z"),
    )
    assert [(s.start.isoformat(), s.sequence) for s in moved.items][-1] == ("2027-03-04T08:00:00+00:00", 1)


def test_a_product_wide_move_onto_an_occurrence_moved_for_one_customer_is_refused(
    loaded: Database, tmp_path: Path, db_url: str
) -> None:
    """Thursday's pe.nightly is moved for nile alone to Monday 2027-03-08 05:00Z-08:00Z. Moving
    Tuesday's for everyone onto Monday 06:00Z leaves the product-wide view clear but would overlap
    in nile's: refused, naming nile, and nothing changes."""
    conf = settings(tmp_path, db_url)
    change_occurrence(
        loaded, NOW, conf, "pe.nightly.20270304", action="move", reason="nile's freeze",
        customer="nile", new_start=utc("2027-03-08T05:00:00Z"),
    )  # fmt: skip
    with pytest.raises(PolicyRefused) as refused:
        change_occurrence(
            loaded, NOW, conf, "pe.nightly.20270302", action="move", reason="rack move",
            new_start=utc("2027-03-08T06:00:00Z"),
        )  # fmt: skip
    assert str(refused.value) == (
        "the new time overlaps occurrence 'pe.nightly.20270304' (2027-03-08T05:00:00Z - 2027-03-08T08:00:00Z)"
        " for customer 'nile' of the same window: move or cancel that one first"
    )
    for customer in ("thames", "nile"):
        assert _view(loaded, customer, "pe.nightly.20270302") == (
            "scheduled",
            "2027-03-02T05:00:00+00:00",
            "2027-03-02T08:00:00+00:00",
            0,
        )
    # Clear of nile's moved occurrence, the same move for everyone is taken.
    moved = change_occurrence(
        loaded, NOW, conf, "pe.nightly.20270302", action="move", reason="rack move",
        new_start=utc("2027-03-08T08:00:00Z"),
    )  # fmt: skip
    assert moved.customers == ["harbour", "nile", "thames"]
    assert _view(loaded, "nile", "pe.nightly.20270302") == (
        "moved",
        "2027-03-08T08:00:00+00:00",
        "2027-03-08T11:00:00+00:00",
        1,
    )
