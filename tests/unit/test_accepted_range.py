"""Dates, instants and months are accepted between 1970 and 2199 only, refused with a message.

Before, year 1 and 9999 got through parsing and then raised OverflowError in date arithmetic
(``0001-01-01T00:00:00+01:00`` already in ``astimezone``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from windows.errors import InvalidInput
from windows.parsing import check_date, parse_date, parse_instant, parse_local_datetime
from windows.rulespec import RuleOptions, build_rule
from windows.sla import Period

RANGE = "the accepted range 1970-01-01 to 2199-12-31"


def message(call: object, *args: object) -> str:
    assert callable(call)
    with pytest.raises(InvalidInput) as error:
        call(*args)
    return error.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01", date(1970, 1, 1)),
        ("2199-12-31", date(2199, 12, 31)),
    ],
)
def test_dates_at_the_edges_are_accepted(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "shown"), [("0001-01-01", "0001-01-01"), ("1969-12-31", "1969-12-31"), ("2200-01-01", "2200-01-01")]
)
def test_dates_outside_are_refused(text: str, shown: str) -> None:
    assert message(parse_date, text) == f"date {shown} is outside {RANGE}"
    assert message(check_date, date.fromisoformat(text), "--from") == f"--from {shown} is outside {RANGE}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        ("2199-12-31T23:59:59Z", datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("1970-01-01T01:00:00+01:00", datetime(1970, 1, 1, tzinfo=UTC)),
        ("2199-12-31T23:59:59+14:00", datetime(2199, 12, 31, 9, 59, 59, tzinfo=UTC)),
    ],
)
def test_instants_at_the_edges_are_accepted(text: str, expected: datetime) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1969-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "1970-01-01T00:59:59+01:00",  # 1969-12-31T23:59:59Z
        "2199-12-31T23:00:00-01:00",  # 2200-01-01T00:00:00Z
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # no UTC instant a datetime can hold: was OverflowError
        "9999-12-31T23:59:59-01:00",  # likewise
        "9999-12-31T00:00:00Z",
    ],
)
def test_instants_outside_are_refused(text: str) -> None:
    assert message(parse_instant, text) == f"instant '{text}' is outside {RANGE}"


def test_local_times_and_rule_dates_outside_are_refused() -> None:
    assert parse_local_datetime("2199-12-31T23:00") == datetime(2199, 12, 31, 23, 0)
    assert message(parse_local_datetime, "9999-12-31T22:00") == (
        f"local time '9999-12-31T22:00': date 9999-12-31 is outside {RANGE}"
    )
    early = RuleOptions("p", "w1", "UTC", days="mon", start="00:00", end="01:00", valid_from=date(1, 1, 1))
    assert message(build_rule, early) == f"--from 0001-01-01 is outside {RANGE}"
    late = RuleOptions("p", "w1", "UTC", days="mon", start="00:00", end="01:00", valid_until=date(9999, 12, 31))
    assert message(build_rule, late) == f"--until 9999-12-31 is outside {RANGE}"


@pytest.mark.parametrize(("month", "tz"), [("0001-01", "Asia/Tokyo"), ("1969-12", "UTC"), ("9998-12", "UTC")])
def test_months_outside_are_refused(month: str, tz: str) -> None:
    assert message(Period.parse, month, tz) == f"month {month} is outside the accepted range 1970-01 to 2199-12"


def test_months_at_the_edges() -> None:
    first, last = Period.parse("1970-01", "Asia/Tokyo"), Period.parse("2199-12", "America/New_York")
    assert (first.start, first.end) == (datetime(1969, 12, 31, 15, tzinfo=UTC), datetime(1970, 1, 31, 15, tzinfo=UTC))
    assert (last.start, last.end) == (datetime(2199, 12, 1, 5, tzinfo=UTC), datetime(2200, 1, 1, 5, tzinfo=UTC))


@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_any_instant_parses_or_is_refused_never_overflows(local: datetime, offset_minutes: int) -> None:
    local = local.replace(microsecond=0)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = f"{local.year:04d}-{local:%m-%dT%H:%M:%S}{sign}{hours:02d}:{minutes:02d}"
    try:
        parsed = parse_instant(text)
    except InvalidInput as error:
        assert error.message == f"instant '{text}' is outside {RANGE}"
        utc_seconds = (local - datetime(1970, 1, 1)).total_seconds() - offset_minutes * 60
        assert not 0 <= utc_seconds < (datetime(2200, 1, 1) - datetime(1970, 1, 1)).total_seconds()
    else:
        assert parsed == (local - timedelta(minutes=offset_minutes)).replace(tzinfo=UTC)
        assert datetime(1970, 1, 1, tzinfo=UTC) <= parsed < datetime(2200, 1, 1, tzinfo=UTC)
