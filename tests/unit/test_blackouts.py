"""Blackout specs, their UTC intervals over DST changes, collisions and skip/next (issue 14)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from scheduler.settings import Settings
from windows.blackouts import intervals, parse_monthly, parse_once, parse_yearly
from windows.collisions import Blocked, BlockedIndex, collision, resolve_local
from windows.errors import InvalidInput
from windows.timezones import to_local, zone_by_name


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def spans(found: list[tuple[datetime, datetime]]) -> list[tuple[str, str]]:
    return [(f"{a:%Y-%m-%dT%H:%MZ}", f"{b:%Y-%m-%dT%H:%MZ}") for a, b in found]


def test_once_in_customer_zone() -> None:
    spec = parse_once("2027-11-22T00:00", "2027-11-30T00:00")
    assert spans(intervals(spec, "Asia/Kolkata", z("2027-01-01T00:00Z"), z("2028-01-01T00:00Z"))) == [
        ("2027-11-21T18:30Z", "2027-11-29T18:30Z")
    ]
    assert intervals(spec, "Asia/Kolkata", z("2027-12-01T00:00Z"), z("2028-01-01T00:00Z")) == []


def test_yearly_both_days_included_every_year() -> None:
    spec = parse_yearly("11-24:11-30")
    assert spans(intervals(spec, "Asia/Kolkata", z("2027-01-01T00:00Z"), z("2029-01-01T00:00Z"))) == [
        ("2027-11-23T18:30Z", "2027-11-30T18:30Z"),
        ("2028-11-23T18:30Z", "2028-11-30T18:30Z"),
    ]


def test_yearly_over_new_year_and_dst() -> None:
    spec = parse_yearly("12-20:01-04")
    assert spans(intervals(spec, "America/New_York", z("2027-06-01T00:00Z"), z("2028-06-01T00:00Z"))) == [
        ("2027-12-20T05:00Z", "2028-01-05T05:00Z")
    ]
    # Over the spring-forward night: 00:00 EST to the next midnight EDT.
    march = parse_yearly("03-14:03-14")
    assert spans(intervals(march, "America/New_York", z("2027-01-01T00:00Z"), z("2028-01-01T00:00Z"))) == [
        ("2027-03-14T05:00Z", "2027-03-15T04:00Z")
    ]


def test_monthly_last_days_and_day_ranges() -> None:
    last = parse_monthly("last-2")
    assert spans(intervals(last, "Europe/London", z("2027-02-01T00:00Z"), z("2027-04-01T00:00Z"))) == [
        ("2027-02-27T00:00Z", "2027-03-01T00:00Z"),
        ("2027-03-29T23:00Z", "2027-03-31T23:00Z"),  # BST since 2027-03-28
    ]
    days = parse_monthly("30-31")  # February has neither: its last day
    assert spans(intervals(days, "UTC", z("2027-02-01T00:00Z"), z("2027-03-01T00:00Z"))) == [
        ("2027-02-28T00:00Z", "2027-03-01T00:00Z")
    ]
    assert parse_monthly(" 1-2 ").text() == "1-2"
    assert parse_monthly("last-3").text() == "last-3"


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_yearly, "11-31:12-01", "11-31 is not a date"),
        (parse_yearly, "nov", "use MM-DD:MM-DD"),
        (parse_monthly, "last-0", "N from 1 to 28"),
        (parse_monthly, "5-2", "1 <= D1 <= D2 <= 31"),
        (parse_monthly, "weekly", "use last-N"),
    ],
)
def test_bad_specs(parse: object, text: str, message: str) -> None:
    assert callable(parse)
    with pytest.raises(InvalidInput, match=message):
        parse(text)


def test_once_end_must_follow_start() -> None:
    with pytest.raises(InvalidInput, match="not after its start"):
        parse_once("2027-11-30T00:00", "2027-11-22T00:00")


def test_collision_is_half_open() -> None:
    blocked = [Blocked("b1", z("2027-03-08T05:00Z"), z("2027-03-13T05:00Z"))]
    assert collision(z("2027-03-13T05:00Z"), z("2027-03-13T06:00Z"), blocked) is None
    assert collision(z("2027-03-08T04:00Z"), z("2027-03-08T05:00Z"), blocked) is None
    hit = collision(z("2027-03-08T04:00Z"), z("2027-03-08T05:01Z"), blocked)
    assert hit is not None and hit.ident == "b1"


def test_index_finds_a_long_interval_starting_early() -> None:
    index = BlockedIndex(
        [
            Blocked("long", z("2027-01-01T00:00Z"), z("2027-12-31T00:00Z")),
            Blocked("short", z("2027-06-01T00:00Z"), z("2027-06-02T00:00Z")),
        ]
    )
    hit = index.first_overlap(z("2027-07-01T00:00Z"), z("2027-07-01T01:00Z"))
    assert hit is not None and hit.ident == "long"


def _local(instant: str, zone: str) -> datetime:
    return to_local(z(instant), zone_by_name(zone))


def test_next_moves_over_spring_forward_keeping_local_hours() -> None:
    # Tue 2027-03-09 00:00-06:00 EST; blackout until Sun 2027-03-14 00:00 EST (05:00Z).
    hit = Blocked("b1", z("2027-03-08T05:00Z"), z("2027-03-14T05:00Z"))
    result = resolve_local(
        policy="next",
        hit=hit,
        local_start=_local("2027-03-09T05:00Z", "America/New_York"),
        local_end=_local("2027-03-09T11:00Z", "America/New_York"),
        zone_name="America/New_York",
        blocked=BlockedIndex([hit]),
        is_taken=lambda day: day.weekday() in (1, 3),
    )
    # Sunday 00:00 EST (05:00Z) to 06:00 EDT (10:00Z): 5 h on the DST night.
    assert (result.action, result.new_start, result.new_end) == (
        "next",
        z("2027-03-14T05:00Z"),
        z("2027-03-14T10:00Z"),
    )


def test_next_skips_when_the_slot_exists_and_jumps_other_blackouts() -> None:
    hit = Blocked("b1", z("2027-03-08T05:00Z"), z("2027-03-11T05:00Z"))  # until Thu 00:00 EST
    args: dict[str, Any] = {
        "hit": hit,
        "local_start": _local("2027-03-09T05:00Z", "America/New_York"),
        "local_end": _local("2027-03-09T11:00Z", "America/New_York"),
        "zone_name": "America/New_York",
    }
    taken = resolve_local(policy="next", blocked=BlockedIndex([hit]), is_taken=lambda d: d == date(2027, 3, 11), **args)
    assert taken.action == "skip" and taken.blocked_by == "b1"
    freeze = Blocked("f1", z("2027-03-11T05:00Z"), z("2027-03-12T05:00Z"))
    jumped = resolve_local(policy="next", blocked=BlockedIndex([hit, freeze]), is_taken=lambda d: False, **args)
    assert (jumped.new_start, jumped.new_end) == (z("2027-03-12T05:00Z"), z("2027-03-12T11:00Z"))
    assert resolve_local(policy="skip", blocked=BlockedIndex([hit]), is_taken=lambda d: False, **args).action == "skip"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("ops@vendor.example", "ops@vendor.example"),
        ("Ops <o@v.example>", "Ops <o@v.example>"),
    ],
)
def test_ops_address_setting(raw: str | None, expected: str | None) -> None:
    env = {} if raw is None else {"MAINTCAL_OPS_ADDRESS": raw}
    assert Settings.from_env(env).ops_address == expected


def test_a_bad_ops_address_is_refused_naming_the_setting() -> None:
    with pytest.raises(InvalidInput) as refused:
        Settings.from_env({"MAINTCAL_OPS_ADDRESS": "ops@a.example, b@b.example"})
    assert refused.value.message == "MAINTCAL_OPS_ADDRESS 'ops@a.example, b@b.example' is not one email address"
