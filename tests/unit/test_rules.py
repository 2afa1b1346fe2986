"""Rules are validated on construction, with one clear message per problem (issue 2)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from croniter import croniter

from windows.errors import InvalidInput
from windows.rules import (
    MAX_FIRINGS_PER_DAY,
    CronRule,
    OnceRule,
    Rule,
    WeeklyRule,
    cron_firings_per_day,
    rules_overlap_warning,
)
from windows.rulespec import RuleOptions, build_rule


def weekly(days: tuple[int, ...] = (1, 3), start: str = "00:00", end: str = "06:00", **kw: Any) -> WeeklyRule:
    common: dict[str, Any] = {
        "product": "pe",
        "name": "w1",
        "timezone": "America/New_York",
        "valid_from": None,
        "valid_until": None,
        "label": None,
    }
    common.update(kw)
    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    return WeeklyRule(**common, days=days, start=time(h1, m1), end=time(h2, m2))


def cron(expression: str, duration: timedelta, zone: str = "Europe/London") -> CronRule:
    return CronRule("pe", "c", zone, None, None, None, expression=expression, duration=duration)


def refused(build: Any, *args: Any, **kw: Any) -> str:
    with pytest.raises(InvalidInput) as error:
        build(*args, **kw)
    return error.value.message


# -- weekly -------------------------------------------------------------------------------------


def test_weekly_rule_describes_itself_and_knows_when_it_crosses_midnight() -> None:
    nightly = weekly((1, 2, 3), "22:00", "05:00")
    assert nightly.describe() == "tue,wed,thu 22:00-05:00"
    assert nightly.crosses_midnight
    assert not weekly().crosses_midnight
    assert weekly().kind == "weekly" and not weekly().is_local
    assert weekly(timezone="local").is_local


def test_start_equal_to_end_is_refused() -> None:
    assert refused(weekly, start="22:00", end="22:00") == "start and end are both 22:00: a window needs a length"


def test_no_days_is_refused() -> None:
    assert refused(weekly, ()) == "no days given: use --days like tue,thu or tue-thu"


def test_until_before_from_is_refused_as_input_but_stored_as_an_empty_rule() -> None:
    assert refused(
        build, days="tue", start="00:00", end="06:00", valid_from=date(2027, 2, 1), valid_until=date(2027, 1, 31)
    ) == ("--until 2027-01-31 is before --from 2027-02-01")
    # Read back from the database it is a window retired before its first day: empty, never an error.
    retired = weekly(valid_from=date(2027, 2, 1), valid_until=date(2026, 12, 9))
    assert retired.retired_before_start
    assert not any(retired.active_on(date(2027, 2, 1) + timedelta(days=n)) for n in range(-400, 400))
    # The same day is a one-day rule, not an error.
    assert weekly(valid_from=date(2027, 2, 1), valid_until=date(2027, 2, 1)).active_on(date(2027, 2, 1))
    assert not weekly(valid_from=date(2027, 2, 1), valid_until=date(2027, 2, 1)).retired_before_start


def test_active_on_bounds_are_inclusive() -> None:
    rule = weekly(valid_from=date(2027, 3, 2), valid_until=date(2027, 3, 30))
    assert [rule.active_on(date(2027, 3, d)) for d in (1, 2, 30, 31)] == [False, True, True, False]
    assert weekly().active_on(date(1999, 1, 1))


def test_bad_names_and_zones_are_refused() -> None:
    assert refused(weekly, product="Premier Edition") == (
        "invalid product key 'Premier Edition': use lowercase letters, digits and '-' (e.g. premier-edition)"
    )
    assert refused(weekly, name="W_1") == (
        "invalid rule name 'W_1': use lowercase letters, digits and '-' (e.g. premier-edition)"
    )
    assert refused(weekly, timezone="Europe/Londn") == (
        "unknown time zone 'Europe/Londn'; did you mean Europe/London or Europe/Lisbon or Europe/Oslo?"
    )


def test_labels_are_one_short_line() -> None:
    assert weekly(label="x" * 200).label == "x" * 200
    assert refused(weekly, label="x" * 201) == "a label is one line of at most 200 characters"
    assert refused(weekly, label="two\nlines") == "a label is one line of at most 200 characters"


def test_several_problems_are_reported_together() -> None:
    assert refused(weekly, (), "01:00", "01:00", name="X") == (
        "invalid rule name 'X': use lowercase letters, digits and '-' (e.g. premier-edition); "
        "no days given: use --days like tue,thu or tue-thu; "
        "start and end are both 01:00: a window needs a length"
    )


# -- cron ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("0 2 * *", "invalid cron expression '0 2 * *': use five fields, e.g. '0 2 * * sun'"),
        ("0 0 2 * * sun", "invalid cron expression '0 0 2 * * sun': use five fields, e.g. '0 2 * * sun'"),
        ("0 25 * * *", "invalid cron expression '0 25 * * *': use five fields, e.g. '0 2 * * sun'"),
        ("61 2 * * *", "invalid cron expression '61 2 * * *': use five fields, e.g. '0 2 * * sun'"),
        ("0 2 * * funday", "invalid cron expression '0 2 * * funday': use five fields, e.g. '0 2 * * sun'"),
        ("@daily", "invalid cron expression '@daily': use five fields, e.g. '0 2 * * sun'"),
        ("", "invalid cron expression '': use five fields, e.g. '0 2 * * sun'"),
        ("0 2 30 2 *", "cron expression '0 2 30 2 *' never fires (no such date): check day and month"),
        ("0 2 31 4,6,9,11 *", "cron expression '0 2 31 4,6,9,11 *' never fires (no such date): check day and month"),
    ],
)
def test_bad_cron_expressions_are_refused(expression: str, error: str) -> None:
    assert refused(cron, expression, timedelta(hours=1)) == error


@pytest.mark.parametrize(
    ("expression", "duration", "error"),
    [
        ("0 2 * * sun", timedelta(0), "duration must be longer than zero"),
        ("0 2 * * sun", timedelta(minutes=-5), "duration must be longer than zero"),
        ("0 2 1 * *", timedelta(days=7, seconds=1), "duration 7d1s is longer than 7 days"),
        ("0 2 1 * *", timedelta(days=8), "duration 8d is longer than 7 days"),
        (
            "0 * * * *",
            timedelta(minutes=61),
            "duration 1h1m is longer than the 1h between firings: occurrences would overlap",
        ),
        (
            "0 2,4 * * *",
            timedelta(hours=3),
            "duration 3h is longer than the 2h between firings: occurrences would overlap",
        ),
    ],
)
def test_bad_cron_durations_are_refused(expression: str, duration: timedelta, error: str) -> None:
    assert refused(cron, expression, duration) == error


def test_longest_allowed_cron_durations() -> None:
    assert cron("0 2 * * sun", timedelta(days=7)).min_interval == timedelta(days=7)
    assert cron("0 * * * *", timedelta(hours=1)).min_interval == timedelta(hours=1)
    assert cron("0 2 1 * *", timedelta(days=7)).min_interval == timedelta(days=28)  # February
    assert cron("0 0 29 2 *", timedelta(days=7)).min_interval is None  # once in 2026-2028 (2028-02-29)


@pytest.mark.parametrize(
    ("expression", "several"),
    [
        ("0 2 * * *", False),
        ("30 23 * * sun", False),
        ("0 2 1 * *", False),
        ("* * * * *", True),  # croniter expands '*' to ['*']: still 1,440 firings a day
        ("15 * * * *", True),
        ("*/30 2 * * *", True),
        ("0 2,14 * * *", True),
        ("0 2 * * mon#2", False),
        ("0 */6 L * *", True),
    ],
)
def test_several_firings_per_day(expression: str, several: bool) -> None:
    assert cron(expression, timedelta(minutes=1)).several_per_day is several


@pytest.mark.parametrize(
    "expression",
    [
        "0 2 * * *",
        "*/20 1-3 * * *",
        "0 2 * * sun",
        "0 2 * * 7",
        "0 0 1,15 * *",
        "0 0 1 * mon",  # both day fields: either matches
        "0 0 1-31 * mon",
        "0 0 */2 * *",
        "30 4 * jan-mar sat-sun",
        "0 0 29 2 *",
        "0 0 L * *",  # croniter fallbacks
        "0 9 * * mon#1",
        "0 9 15W * *",
    ],
)
def test_firings_follow_croniter_in_naive_local_time(expression: str) -> None:
    rule = cron(expression, timedelta(minutes=1))
    first, last = date(2027, 1, 1), date(2028, 3, 31)
    expected = []
    it = croniter(expression, datetime(2026, 12, 31, 23, 59))
    while (current := it.get_next(datetime)).date() <= last:
        expected.append(current)
    assert list(rule.firings(first, last)) == expected


def test_cron_describe() -> None:
    assert cron("0 2 * * sun", timedelta(minutes=90)).describe() == "cron '0 2 * * sun' for 1h30m"


# -- one-off ------------------------------------------------------------------------------------


def once(start: datetime, end: datetime) -> OnceRule:
    return OnceRule("pe", "o", "America/New_York", None, None, None, start=start, end=end)


def test_one_off_rules() -> None:
    rule = once(datetime(2027, 3, 14, 1, 0), datetime(2027, 3, 14, 4, 0))
    assert rule.describe() == "once 2027-03-14T01:00-2027-03-14T04:00"
    assert refused(once, datetime(2027, 3, 14, 4), datetime(2027, 3, 14, 4)) == (
        "one-off end 2027-03-14T04:00 is not after its start 2027-03-14T04:00"
    )
    assert refused(once, datetime(2027, 3, 14, 4), datetime(2027, 3, 14, 3)) == (
        "one-off end 2027-03-14T03:00 is not after its start 2027-03-14T04:00"
    )
    assert refused(once, datetime(2027, 3, 1), datetime(2027, 3, 8, 0, 1)) == "a one-off window may last at most 7 days"
    assert once(datetime(2027, 3, 1), datetime(2027, 3, 8)).end == datetime(2027, 3, 8)


def test_a_one_off_window_inside_the_spring_forward_gap_is_refused() -> None:
    # 02:30 and 03:00 on 2027-03-14 in New York are 07:30Z and 07:00Z: the window has no length.
    assert refused(once, datetime(2027, 3, 14, 2, 30), datetime(2027, 3, 14, 3, 0)) == (
        "one-off window 2027-03-14T02:30-03:00 does not exist in America/New_York: "
        "it lies in the time skipped when clocks go forward"
    )
    # 02:00-02:45 is 07:00Z-07:45Z (both with the EST offset): 45 minutes that do exist, as 03:00-03:45 EDT.
    assert once(datetime(2027, 3, 14, 2, 0), datetime(2027, 3, 14, 2, 45)).kind == "once"
    local = OnceRule("pe", "o", "local", None, None, None, start=datetime(2027, 3, 14, 2, 30),
                     end=datetime(2027, 3, 14, 3, 0))  # fmt: skip
    assert local.is_local  # checked per customer zone when expanded


# -- overlapping rules of one product (a warning) -----------------------------------------------


def test_overlapping_weekly_rules_of_one_product_warn() -> None:
    tue_thu = weekly((1, 3), "00:00", "03:00", name="tue-thu-night")
    sunday = weekly((6,), "00:00", "05:00", name="sunday-night")
    nightly = weekly((1, 2, 3), "22:00", "05:00", name="nightly")
    assert rules_overlap_warning([tue_thu, sunday]) == []
    # Tue 22:00-Wed 05:00 overlaps nothing of tue-thu-night, but Wed 22:00-Thu 05:00 overlaps Thu 00:00-03:00.
    assert rules_overlap_warning([tue_thu, nightly]) == [
        "rules 'tue-thu-night' and 'nightly' of pe overlap (tue,thu 00:00-03:00 / tue,wed,thu 22:00-05:00)"
    ]


def test_overlap_wraps_from_sunday_night_to_monday() -> None:
    sunday_night = weekly((6,), "23:00", "02:00", name="sun")
    monday = weekly((0,), "01:00", "02:00", name="mon")
    assert rules_overlap_warning([sunday_night, monday]) == [
        "rules 'sun' and 'mon' of pe overlap (sun 23:00-02:00 / mon 01:00-02:00)"
    ]
    # Touching windows do not overlap.
    assert rules_overlap_warning([sunday_night, weekly((0,), "02:00", "03:00", name="later")]) == []


def test_rules_in_different_zones_are_not_compared() -> None:
    a = weekly((1,), "00:00", "06:00", name="a")
    b = weekly((1,), "00:00", "06:00", name="b", timezone="Europe/London")
    assert rules_overlap_warning([a, b]) == []


# -- building a rule from user options ----------------------------------------------------------


def build(**kw: Any) -> tuple[Rule, list[str]]:
    options: dict[str, Any] = {"product": "pe", "name": "w1", "tz": "America/New_York"}
    options.update(kw)
    return build_rule(RuleOptions(**options))


def test_build_each_form() -> None:
    rule, warnings = build(days="tue-thu", start="22:00", end="05:00")
    assert (rule.describe(), warnings) == ("tue,wed,thu 22:00-05:00", [])
    rule, _ = build(cron="0 2 * * sun", duration="2h")
    assert rule.describe() == "cron '0 2 * * sun' for 2h"
    rule, _ = build(cron="0 2 * * sun", duration=timedelta(hours=3))
    assert rule.describe() == "cron '0 2 * * sun' for 3h"
    rule, _ = build(once_start="2027-03-14T01:00", once_end="2027-03-14T04:00")
    assert rule.describe() == "once 2027-03-14T01:00-2027-03-14T04:00"
    rule, _ = build(days="tue,thu", start="00:00", end="06:00", tz="local")
    assert rule.timezone == "local"
    rule, _ = build(days="sun", start="00:00", end="05:00", tz="america/new_york")
    assert rule.timezone == "America/New_York"


def test_est_is_accepted_with_a_warning() -> None:
    rule, warnings = build(days="tue-thu", start="22:00", end="05:00", tz="EST")
    assert rule.timezone == "EST"
    assert warnings == [
        "time zone 'EST' is a fixed offset (UTC-05:00) without daylight saving time; consider America/New_York"
    ]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (
            {},
            "give exactly one window form: --days/--start/--end, --cron/--duration, or --once-start/--once-end",
        ),
        (
            {"days": "tue", "cron": "0 2 * * *"},
            "give exactly one window form: --days/--start/--end, --cron/--duration, or --once-start/--once-end",
        ),
        (
            {"days": "tue", "start": "22:00", "end": "05:00", "tz": None},
            "a window needs a time zone: --tz America/New_York (or --tz local for the customer's zone)",
        ),
        ({"days": "tue"}, "a weekly window needs --start, --end"),
        ({"start": "22:00", "end": "05:00"}, "a weekly window needs --days"),
        ({"cron": "0 2 * * *"}, "a cron window needs both --cron and --duration"),
        ({"duration": "2h"}, "a cron window needs both --cron and --duration"),
        ({"once_start": "2027-03-14T01:00"}, "a one-off window needs both --once-start and --once-end"),
        (
            {"days": "tue", "start": "24:00", "end": "05:00"},
            "invalid time '24:00': use 00:00 (a window ending at midnight ends at 00:00)",
        ),
        ({"days": "tue", "start": "05:00", "end": "05:00"}, "start and end are both 05:00: a window needs a length"),
        (
            {"days": "someday", "start": "22:00", "end": "05:00"},
            "invalid days 'someday': use mon,tue,... or ranges like tue-thu",
        ),
        ({"cron": "0 2 * * *", "duration": "0m"}, "invalid duration '0m': must be longer than zero"),
        ({"cron": "0 2 1 * *", "duration": "8d"}, "duration 8d is longer than 7 days"),
        (
            {"cron": "every night", "duration": "1h"},
            "invalid cron expression 'every night': use five fields, e.g. '0 2 * * sun'",
        ),
        (
            {"days": "tue", "start": "22:00", "end": "05:00", "tz": "Mars/Base"},
            "unknown time zone 'Mars/Base'; use an IANA name like Europe/London",
        ),
        (
            {
                "days": "tue",
                "start": "22:00",
                "end": "05:00",
                "valid_from": date(2027, 5, 1),
                "valid_until": date(2027, 4, 30),
            },
            "--until 2027-04-30 is before --from 2027-05-01",
        ),
    ],
)
def test_build_refuses_with_one_clear_message(options: dict[str, Any], error: str) -> None:
    assert refused(build, **options) == error


# -- the frequency limit (issue 10 §2): at most MAX_FIRINGS_PER_DAY firings on one local day -------


@pytest.mark.parametrize(
    ("expression", "count"),
    [
        ("* * * * *", 1440),
        ("*/30 * * * *", 48),
        ("*/29 * * * *", 72),  # minutes 0, 29, 58
        ("0,30 * * * sun", 48),
        ("*/5 2-3 * * *", 24),
        ("0 */6 L * *", 4),
        ("0 2 * * mon#2", 1),
        ("0-59 9 1 1 *", 60),  # one day a year still fires 60 times on that day
    ],
)
def test_cron_firings_per_day(expression: str, count: int) -> None:
    assert cron_firings_per_day(expression) == count


def test_max_firings_per_day_is_every_30_minutes() -> None:
    assert MAX_FIRINGS_PER_DAY == 48


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * * *", "cron '* * * * *' fires 1440 times a day; at most 48 are allowed"),
        ("*/29 * * * *", "cron '*/29 * * * *' fires 72 times a day; at most 48 are allowed"),
        ("0-59 9 1 1 *", "cron '0-59 9 1 1 *' fires 60 times a day; at most 48 are allowed"),
        ("*/10 0-8 L * *", "cron '*/10 0-8 L * *' fires 54 times a day; at most 48 are allowed"),
    ],
)
def test_build_refuses_a_cron_that_fires_too_often(expression: str, message: str) -> None:
    assert refused(build, cron=expression, duration="1m") == message
    # The frequency is reported first, also when the duration would overlap the firings.
    assert refused(build, cron=expression, duration="2h") == message


@pytest.mark.parametrize("expression", ["*/30 * * * *", "0,30 * * * *", "0 * * * *", "*/15 0-11 * * sun"])
def test_build_accepts_a_cron_at_the_limit(expression: str) -> None:
    rule, _ = build(cron=expression, duration="10m", tz="Europe/London")
    assert isinstance(rule, CronRule)
    # The busiest local day, a DST day included, has no more firings than the limit.
    days = [date(2027, 3, 28), date(2027, 10, 31), date(2027, 6, 1)]
    assert max(sum(1 for _ in rule.firings(day, day)) for day in days) <= MAX_FIRINGS_PER_DAY


def test_a_stored_frequent_rule_still_loads() -> None:
    """The limit applies to typed input: a rule stored before it still constructs (and expands)."""
    rule = cron("* * * * *", timedelta(minutes=1))
    assert sum(1 for _ in rule.firings(date(2027, 3, 28), date(2027, 3, 28))) == 1440
