"""A rule's history: it begins when the rule was added, retired-before-start rules are empty,
an explicit ``from`` in the past imports earlier occurrences as history (issue 9 §2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from windows.expansion import expand
from windows.rules import CronRule, OnceRule, Rule, WeeklyRule

ADDED = datetime(2026, 12, 10, 7, 0, tzinfo=UTC)  # Thu 2026-12-10 02:00 EST
RANGE = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def tue_thu(valid_from: date | None = None, valid_until: date | None = None, since: datetime | None = ADDED) -> Rule:
    return WeeklyRule(
        "pe", "n", "America/New_York", valid_from, valid_until, None, since, days=(1, 3), start=time(0), end=time(6)
    )


def listed(rule: Rule) -> list[tuple[str, bool]]:
    return [(o.id, o.imported) for o in expand(rule, *RANGE)]


def test_occurrences_begin_when_the_rule_was_added_and_one_in_progress_does_not_count() -> None:
    # 2026-12-10 00:00-06:00 EST (05:00Z-11:00Z) was in progress at 07:00Z: not part of the rule.
    assert listed(tue_thu()) == [
        ("pe.n.20261215", False),
        ("pe.n.20261217", False),
        ("pe.n.20261222", False),
        ("pe.n.20261224", False),
        ("pe.n.20261229", False),
        ("pe.n.20261231", False),
    ]
    # Without a 'since' (a rule being previewed or checked before it is stored): every occurrence.
    assert len(listed(tue_thu(since=None))) == 18


def test_a_from_in_the_past_imports_earlier_occurrences_as_history() -> None:
    assert listed(tue_thu(valid_from=date(2026, 12, 1)))[:5] == [
        ("pe.n.20261201", True),
        ("pe.n.20261203", True),
        ("pe.n.20261208", True),
        ("pe.n.20261210", True),  # in progress when added: imported too
        ("pe.n.20261215", False),
    ]
    # Ids and times of what remains never depend on 'since'.
    assert [o for o in expand(tue_thu(), *RANGE)] == [
        o for o in expand(tue_thu(valid_from=date(2026, 12, 1)), *RANGE) if not o.imported
    ]


def test_the_start_instant_decides_not_the_local_date() -> None:
    at_start = tue_thu(since=datetime(2026, 12, 15, 5, 0, tzinfo=UTC))  # exactly at 00:00 EST
    assert listed(at_start)[0] == ("pe.n.20261215", False)
    just_after = tue_thu(since=datetime(2026, 12, 15, 5, 0, 1, tzinfo=UTC))
    assert listed(just_after)[0] == ("pe.n.20261217", False)


@pytest.mark.parametrize(
    "rule",
    [
        tue_thu(valid_from=date(2027, 2, 1), valid_until=date(2026, 12, 9)),
        CronRule(
            "pe",
            "c",
            "UTC",
            date(2027, 2, 1),
            date(2026, 12, 9),
            None,
            ADDED,
            expression="0 2 * * *",
            duration=timedelta(hours=1),
        ),
        OnceRule(
            "pe",
            "o",
            "UTC",
            date(2027, 2, 1),
            date(2026, 12, 9),
            None,
            ADDED,
            start=datetime(2027, 2, 3, 1),
            end=datetime(2027, 2, 3, 2),
        ),
    ],
)
def test_a_rule_retired_before_its_first_day_is_empty(rule: Rule) -> None:
    assert rule.retired_before_start
    assert expand(rule, datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)) == []
