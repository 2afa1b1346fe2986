"""What an occurrence's lifecycle asks for, and when (windows/lifecycle.py): pure, exact instants."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from windows.errors import InvalidInput
from windows.expansion import Occurrence
from windows.lifecycle import Due, human_duration, lifecycle_due, parse_leads, stored_leads
from windows.schedule import Scheduled

START = datetime(2027, 2, 9, 5, 0, tzinfo=UTC)
END = datetime(2027, 2, 9, 11, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def item(kind: str = "planned", status: str = "scheduled") -> Scheduled:
    occ = Occurrence(
        id="pe.tue.20270209", base_id="pe.tue.20270209", product="pe", rule="tue", customer=None,
        start=START, end=END, timezone="UTC", local_start=START, local_end=END, local_date=date(2027, 2, 9),
        kind=kind,
    )  # fmt: skip
    return Scheduled(occ, "acme", status, START, END, START, END, 0, None, kind=kind)


@pytest.mark.parametrize(
    ("now", "leads", "opted_in", "expected"),
    [
        (START - 8 * DAY, ("7d", "24h"), False, [Due("reminder", START - 7 * DAY, "7d"), Due("reminder", START - DAY, "24h")]),  # noqa: E501
        (START - timedelta(days=2), ("7d", "24h"), False, [Due("reminder", START - timedelta(hours=24), "24h")]),
        (START - timedelta(hours=24), ("24h",), False, [Due("reminder", START - timedelta(hours=24), "24h")]),
        (START - timedelta(hours=23), ("24h",), False, []),
        (START - timedelta(hours=1), (), True, [Due("started", START), Due("finished", END)]),
        (START, (), True, [Due("finished", END)]),
        (END, (), True, []),
    ],
)  # fmt: skip
def test_planned(now: datetime, leads: tuple[str, ...], opted_in: bool, expected: list[Due]) -> None:
    assert lifecycle_due(item(), leads, planned_notices=opted_in, now=now) == expected


def test_unplanned_always_gets_started_and_finished_and_never_reminders() -> None:
    now = START - timedelta(hours=1)
    assert lifecycle_due(item("unplanned"), ("24h",), planned_notices=False, now=now) == [
        Due("started", START),
        Due("finished", END),
    ]


def test_a_cancelled_occurrence_asks_for_nothing() -> None:
    cancelled = replace(item(), status="cancelled")
    assert lifecycle_due(cancelled, ("7d",), planned_notices=True, now=START - timedelta(days=9)) == []


def test_leads() -> None:
    assert parse_leads(["24h,7d", "48h"]) == ("7d", "48h", "24h")
    assert parse_leads(["none"]) == () and stored_leads(None) == ("7d", "24h") and stored_leads("[]") == ()
    with pytest.raises(InvalidInput, match="at most 5 lead times"):
        parse_leads(["1h", "2h", "3h", "4h", "5h", "6h"])
    with pytest.raises(InvalidInput, match="invalid duration"):
        parse_leads(["0h"])


@pytest.mark.parametrize(
    ("length", "text"),
    [
        (timedelta(seconds=3.52), "4 s"),
        (timedelta(hours=0.000977893), "4 s"),
        (timedelta(minutes=1), "1 min"),
        (timedelta(minutes=90), "1 h 30 min"),
        (timedelta(hours=6), "6 h"),
        (timedelta(days=1, minutes=5), "1 d"),
        (timedelta(days=2, hours=3, minutes=4), "2 d 3 h"),
    ],
)
def test_human_duration(length: timedelta, text: str) -> None:
    assert human_duration(length) == text
