"""The value formats of DESIGN §5: durations, days, times of day, dates, instants, slugs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from windows.errors import InvalidInput
from windows.parsing import (
    check_slug,
    format_days,
    format_duration,
    format_time_of_day,
    parse_date,
    parse_days,
    parse_duration,
    parse_instant,
    parse_local_datetime,
    parse_time_of_day,
)


def message(call: object, *args: object) -> str:
    assert callable(call)
    with pytest.raises(InvalidInput) as error:
        call(*args)
    return error.value.message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90m", 5400),
        ("2h", 7200),
        ("1h30m", 5400),
        ("7d", 604_800),
        ("1d2h3m4s", 93_784),
        ("45s", 45),
        (" 2H ", 7200),
        ("0h5m", 300),
        ("3650d", 315_360_000),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "invalid duration '': use forms like 90m, 2h, 1h30m, 7d"),
        ("90", "invalid duration '90': use forms like 90m, 2h, 1h30m, 7d"),
        ("1.5h", "invalid duration '1.5h': use forms like 90m, 2h, 1h30m, 7d"),
        ("30m1h", "invalid duration '30m1h': use forms like 90m, 2h, 1h30m, 7d"),
        ("-2h", "invalid duration '-2h': use forms like 90m, 2h, 1h30m, 7d"),
        ("1 h", "invalid duration '1 h': use forms like 90m, 2h, 1h30m, 7d"),
        ("2 weeks", "invalid duration '2 weeks': use forms like 90m, 2h, 1h30m, 7d"),
        ("0m", "invalid duration '0m': must be longer than zero"),
        ("0d0h", "invalid duration '0d0h': must be longer than zero"),
        ("3651d", "invalid duration '3651d': at most 3650d"),
        ("99999999999999d", "invalid duration '99999999999999d': at most 3650d"),  # no OverflowError
    ],
)
def test_bad_durations(text: str, error: str) -> None:
    assert message(parse_duration, text) == error


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=2), "2h"),
        (timedelta(days=7), "7d"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(0), "0m"),
    ],
)
def test_format_duration(duration: timedelta, text: str) -> None:
    assert format_duration(duration) == text
    if duration:
        assert parse_duration(text) == duration


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon,tue", (0, 1)),
        ("tue-thu", (1, 2, 3)),
        ("tue,thu", (1, 3)),
        ("sun", (6,)),
        ("fri-mon", (0, 4, 5, 6)),  # wraps over the weekend
        ("mon-sun", (0, 1, 2, 3, 4, 5, 6)),
        ("sun-sun", (6,)),
        ("Tue, THU", (1, 3)),
        ("tuesday-thursday", (1, 2, 3)),
        ("tues,thurs", (1, 3)),
        ("thu,tue,thu", (1, 3)),
        ("mon-wed,fri", (0, 1, 2, 4)),
    ],
)
def test_days(text: str, days: tuple[int, ...]) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "no days given: use --days like tue,thu or tue-thu"),
        (" , ", "no days given: use --days like tue,thu or tue-thu"),
        ("weekdays", "invalid days 'weekdays': use mon,tue,... or ranges like tue-thu"),
        ("tu", "invalid days 'tu': use mon,tue,... or ranges like tue-thu"),
        ("month", "invalid days 'month': use mon,tue,... or ranges like tue-thu"),
        ("thunder", "invalid days 'thunder': use mon,tue,... or ranges like tue-thu"),
        ("mon-", "invalid days 'mon-': use mon,tue,... or ranges like tue-thu"),
        ("mon-wed-fri", "invalid days 'mon-wed-fri': use mon,tue,... or ranges like tue-thu"),
        ("1,2", "invalid days '1,2': use mon,tue,... or ranges like tue-thu"),
    ],
)
def test_bad_days(text: str, error: str) -> None:
    assert message(parse_days, text) == error


def test_format_days_is_sorted_and_parses_back() -> None:
    assert format_days((3, 1)) == "tue,thu"
    assert format_days([6, 0]) == "mon,sun"
    assert parse_days(format_days((0, 4, 5, 6))) == (0, 4, 5, 6)


@pytest.mark.parametrize(
    ("text", "value"),
    [("00:00", time(0)), ("22:00", time(22)), ("7:05", time(7, 5)), ("23:59", time(23, 59)), (" 05:00 ", time(5))],
)
def test_times_of_day(text: str, value: time) -> None:
    assert parse_time_of_day(text) == value
    assert format_time_of_day(value) == text.strip().zfill(5)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("24:00", "invalid time '24:00': use 00:00 (a window ending at midnight ends at 00:00)"),
        ("24:30", "invalid time '24:30': hours 00-23, minutes 00-59"),
        ("23:60", "invalid time '23:60': hours 00-23, minutes 00-59"),
        ("22", "invalid time '22': use HH:MM, e.g. 22:00"),
        ("22:00:00", "invalid time '22:00:00': use HH:MM, e.g. 22:00"),
        ("10pm", "invalid time '10pm': use HH:MM, e.g. 22:00"),
        ("", "invalid time '': use HH:MM, e.g. 22:00"),
    ],
)
def test_bad_times_of_day(text: str, error: str) -> None:
    assert message(parse_time_of_day, text) == error


def test_dates_and_local_datetimes() -> None:
    assert parse_date("2027-03-16") == date(2027, 3, 16)
    assert message(parse_date, "16/03/2027") == "invalid date '16/03/2027': use YYYY-MM-DD"
    assert message(parse_date, "2027-02-30") == "invalid date '2027-02-30': use YYYY-MM-DD"
    assert parse_local_datetime("2027-03-16T22:00") == datetime(2027, 3, 16, 22, 0)
    assert parse_local_datetime("2027-03-16 22:30:00") == datetime(2027, 3, 16, 22, 30)
    assert message(parse_local_datetime, "2027-03-16T22:00Z") == (
        "invalid local time '2027-03-16T22:00Z': give a wall-clock time without offset; the zone is --tz"
    )
    assert message(parse_local_datetime, "tomorrow") == "invalid local time 'tomorrow': use YYYY-MM-DDTHH:MM"
    assert message(parse_local_datetime, "2027-03-16T22:00:00.5") == (
        "invalid local time '2027-03-16T22:00:00.5': use whole seconds at most, e.g. 2027-03-16T22:00"
    )


def test_instants() -> None:
    now = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
    assert parse_instant("2027-03-16T04:00:00Z") == datetime(2027, 3, 16, 4, 0, tzinfo=UTC)
    assert parse_instant("2027-03-16t04:00:00z") == datetime(2027, 3, 16, 4, 0, tzinfo=UTC)
    assert parse_instant("2027-03-16T00:00:00-04:00") == datetime(2027, 3, 16, 4, 0, tzinfo=UTC)
    assert parse_instant("2027-03-16T09:30+05:30") == datetime(2027, 3, 16, 4, 0, tzinfo=UTC)
    assert parse_instant("now", now) == now
    assert parse_instant(" NOW ", now).tzinfo is UTC
    assert message(parse_instant, "now") == "'now' is not allowed here"
    assert message(parse_instant, "2027-03-16T04:00") == "instant '2027-03-16T04:00' has no offset: add Z or +HH:MM"
    assert message(parse_instant, "soon") == (
        "invalid instant 'soon': use ISO 8601 with offset, e.g. 2027-03-16T04:00:00Z"
    )


@pytest.mark.parametrize("slug", ["premier-edition", "w1", "a", "0day", "pe-2"])
def test_slugs(slug: str) -> None:
    assert check_slug(slug, "product key") == slug


def test_slugs_fit_the_database_column() -> None:
    assert check_slug("a" * 64, "customer key") == "a" * 64
    assert message(check_slug, "a" * 65, "customer key") == (
        "invalid customer key 'aaaaaaaaaaaaaaaaaaaa...': at most 64 characters"
    )


@pytest.mark.parametrize("slug", ["Premier", "-x", "a_b", "a b", "", "é", "a.b", "abc\n"])
def test_bad_slugs(slug: str) -> None:
    assert message(check_slug, slug, "product key") == (
        f"invalid product key '{slug}': use lowercase letters, digits and '-' (e.g. premier-edition)"
    )
