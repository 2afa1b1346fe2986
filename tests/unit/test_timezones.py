"""Time zones: names, and local wall-clock -> UTC around the 2026-2028 transitions (DESIGN §2).

Expected instants are worked out by hand from the tz database rules (pytz 2026f), not by the code:

- America/New_York: EST -5 / EDT -4; 02:00 -> 03:00 on the 2nd Sunday of March, 02:00 -> 01:00 on
  the 1st Sunday of November (2026-03-08, 2026-11-01, 2027-03-14, 2027-11-07, 2028-03-12, 2028-11-05).
- Europe/London: GMT 0 / BST +1; at 01:00Z on the last Sunday of March and of October
  (2026-03-29, 2026-10-25, 2027-03-28, 2027-10-31, 2028-03-26, 2028-10-29).
- Australia/Sydney: AEST +10 / AEDT +11; 03:00 -> 02:00 on the 1st Sunday of April, 02:00 -> 03:00 on
  the 1st Sunday of October (2026-04-05, 2026-10-04, 2027-04-04, 2027-10-03, 2028-04-02, 2028-10-01).
- Australia/Lord_Howe: +10:30 / +11, a 30-minute shift on the same Sundays: gap 02:00-02:30 in
  October, fold 01:30-02:00 in April.
- Africa/Cairo: EET +2 / EEST +3 since 2023; 00:00 -> 01:00 on the last Friday of April
  (2026-04-24, 2027-04-30, 2028-04-28), 24:00 -> 23:00 on the last Thursday of October
  (2026-10-29, 2027-10-28, 2028-10-26): the gap and the fold are at midnight.
- America/Havana: CST -5 / CDT -4, changes at 00:00 standard time. tzdata 2026f keeps Cuba on CDT
  from 2026-03-08 to 2027-11-07 (rules "2013 2026 Mar Sun>=8", "2012 2025 Nov Sun>=1", "2027 max Nov
  Sun>=1", "2028 max Mar Sun>=8"): no change in November 2026 nor in March 2027.
- Asia/Kolkata: +05:30, no DST since 1945.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from windows.errors import InvalidInput
from windows.timezones import (
    LOCAL,
    format_local,
    format_utc,
    offset_at,
    resolve_zone,
    to_local,
    to_utc,
    zone_by_name,
)

D = datetime

# (zone, local wall-clock time, expected naive UTC, why)
TO_UTC = [
    # New York
    ("America/New_York", D(2026, 3, 8, 1, 59), D(2026, 3, 8, 6, 59), "last EST minute"),
    ("America/New_York", D(2026, 3, 8, 2, 0), D(2026, 3, 8, 7, 0), "gap: EST offset"),
    ("America/New_York", D(2026, 3, 8, 2, 30), D(2026, 3, 8, 7, 30), "gap: EST offset"),
    ("America/New_York", D(2026, 3, 8, 3, 0), D(2026, 3, 8, 7, 0), "first EDT minute"),
    ("America/New_York", D(2026, 11, 1, 0, 59), D(2026, 11, 1, 4, 59), "EDT"),
    ("America/New_York", D(2026, 11, 1, 1, 0), D(2026, 11, 1, 5, 0), "fold: first (EDT)"),
    ("America/New_York", D(2026, 11, 1, 1, 59), D(2026, 11, 1, 5, 59), "fold: first (EDT)"),
    ("America/New_York", D(2026, 11, 1, 2, 0), D(2026, 11, 1, 7, 0), "EST"),
    ("America/New_York", D(2027, 3, 14, 2, 30), D(2027, 3, 14, 7, 30), "DESIGN §2 example"),
    ("America/New_York", D(2027, 11, 7, 1, 30), D(2027, 11, 7, 5, 30), "DESIGN §2 example"),
    ("America/New_York", D(2028, 3, 12, 2, 15), D(2028, 3, 12, 7, 15), "gap"),
    ("America/New_York", D(2028, 3, 12, 3, 0), D(2028, 3, 12, 7, 0), "EDT"),
    ("America/New_York", D(2028, 11, 5, 1, 45), D(2028, 11, 5, 5, 45), "fold"),
    ("America/New_York", D(2028, 11, 5, 2, 0), D(2028, 11, 5, 7, 0), "EST"),
    # London
    ("Europe/London", D(2026, 3, 29, 0, 59), D(2026, 3, 29, 0, 59), "GMT"),
    ("Europe/London", D(2026, 3, 29, 1, 0), D(2026, 3, 29, 1, 0), "gap: GMT offset"),
    ("Europe/London", D(2026, 3, 29, 1, 30), D(2026, 3, 29, 1, 30), "gap: GMT offset"),
    ("Europe/London", D(2026, 3, 29, 2, 0), D(2026, 3, 29, 1, 0), "BST"),
    ("Europe/London", D(2026, 10, 25, 0, 59), D(2026, 10, 24, 23, 59), "BST"),
    ("Europe/London", D(2026, 10, 25, 1, 0), D(2026, 10, 25, 0, 0), "fold: first (BST)"),
    ("Europe/London", D(2026, 10, 25, 1, 30), D(2026, 10, 25, 0, 30), "fold: first (BST)"),
    ("Europe/London", D(2026, 10, 25, 2, 0), D(2026, 10, 25, 2, 0), "GMT"),
    ("Europe/London", D(2027, 3, 28, 1, 30), D(2027, 3, 28, 1, 30), "gap"),
    ("Europe/London", D(2027, 10, 31, 1, 30), D(2027, 10, 31, 0, 30), "fold"),
    ("Europe/London", D(2028, 3, 26, 1, 59), D(2028, 3, 26, 1, 59), "gap"),
    ("Europe/London", D(2028, 10, 29, 1, 15), D(2028, 10, 29, 0, 15), "fold"),
    # Sydney
    ("Australia/Sydney", D(2026, 4, 5, 1, 59), D(2026, 4, 4, 14, 59), "AEDT"),
    ("Australia/Sydney", D(2026, 4, 5, 2, 0), D(2026, 4, 4, 15, 0), "fold: first (AEDT)"),
    ("Australia/Sydney", D(2026, 4, 5, 2, 30), D(2026, 4, 4, 15, 30), "fold: first (AEDT)"),
    ("Australia/Sydney", D(2026, 4, 5, 3, 0), D(2026, 4, 4, 17, 0), "AEST"),
    ("Australia/Sydney", D(2026, 10, 4, 1, 59), D(2026, 10, 3, 15, 59), "AEST"),
    ("Australia/Sydney", D(2026, 10, 4, 2, 0), D(2026, 10, 3, 16, 0), "gap: AEST offset"),
    ("Australia/Sydney", D(2026, 10, 4, 2, 30), D(2026, 10, 3, 16, 30), "gap: AEST offset"),
    ("Australia/Sydney", D(2026, 10, 4, 3, 0), D(2026, 10, 3, 16, 0), "AEDT"),
    ("Australia/Sydney", D(2027, 4, 4, 2, 30), D(2027, 4, 3, 15, 30), "fold"),
    ("Australia/Sydney", D(2027, 10, 3, 2, 30), D(2027, 10, 2, 16, 30), "gap"),
    ("Australia/Sydney", D(2028, 4, 2, 2, 45), D(2028, 4, 1, 15, 45), "fold"),
    ("Australia/Sydney", D(2028, 10, 1, 2, 45), D(2028, 9, 30, 16, 45), "gap"),
    # Lord Howe: 30-minute shift
    ("Australia/Lord_Howe", D(2026, 4, 5, 1, 29), D(2026, 4, 4, 14, 29), "+11"),
    ("Australia/Lord_Howe", D(2026, 4, 5, 1, 30), D(2026, 4, 4, 14, 30), "fold: first (+11)"),
    ("Australia/Lord_Howe", D(2026, 4, 5, 1, 45), D(2026, 4, 4, 14, 45), "fold: first (+11)"),
    ("Australia/Lord_Howe", D(2026, 4, 5, 2, 0), D(2026, 4, 4, 15, 30), "+10:30"),
    ("Australia/Lord_Howe", D(2026, 10, 4, 1, 59), D(2026, 10, 3, 15, 29), "+10:30"),
    ("Australia/Lord_Howe", D(2026, 10, 4, 2, 0), D(2026, 10, 3, 15, 30), "gap: +10:30"),
    ("Australia/Lord_Howe", D(2026, 10, 4, 2, 15), D(2026, 10, 3, 15, 45), "gap: +10:30"),
    ("Australia/Lord_Howe", D(2026, 10, 4, 2, 30), D(2026, 10, 3, 15, 30), "+11"),
    ("Australia/Lord_Howe", D(2027, 4, 4, 1, 45), D(2027, 4, 3, 14, 45), "fold"),
    ("Australia/Lord_Howe", D(2027, 10, 3, 2, 15), D(2027, 10, 2, 15, 45), "gap"),
    ("Australia/Lord_Howe", D(2028, 4, 2, 1, 59), D(2028, 4, 1, 14, 59), "fold"),
    ("Australia/Lord_Howe", D(2028, 10, 1, 2, 29), D(2028, 9, 30, 15, 59), "gap"),
    # Cairo: midnight transitions
    ("Africa/Cairo", D(2026, 4, 23, 23, 59), D(2026, 4, 23, 21, 59), "EET"),
    ("Africa/Cairo", D(2026, 4, 24, 0, 0), D(2026, 4, 23, 22, 0), "gap at midnight: EET offset"),
    ("Africa/Cairo", D(2026, 4, 24, 0, 30), D(2026, 4, 23, 22, 30), "gap: EET offset"),
    ("Africa/Cairo", D(2026, 4, 24, 1, 0), D(2026, 4, 23, 22, 0), "EEST"),
    ("Africa/Cairo", D(2026, 10, 29, 22, 59), D(2026, 10, 29, 19, 59), "EEST"),
    ("Africa/Cairo", D(2026, 10, 29, 23, 0), D(2026, 10, 29, 20, 0), "fold: first (EEST)"),
    ("Africa/Cairo", D(2026, 10, 29, 23, 30), D(2026, 10, 29, 20, 30), "fold: first (EEST)"),
    ("Africa/Cairo", D(2026, 10, 30, 0, 0), D(2026, 10, 29, 22, 0), "EET"),
    ("Africa/Cairo", D(2027, 4, 30, 0, 0), D(2027, 4, 29, 22, 0), "gap"),
    ("Africa/Cairo", D(2027, 10, 28, 23, 30), D(2027, 10, 28, 20, 30), "fold"),
    ("Africa/Cairo", D(2028, 4, 28, 0, 59), D(2028, 4, 27, 22, 59), "gap"),
    ("Africa/Cairo", D(2028, 10, 26, 23, 59), D(2028, 10, 26, 20, 59), "fold"),
    # Havana: midnight transitions, and no change at all in Nov 2026 / Mar 2027
    ("America/Havana", D(2026, 3, 7, 23, 59), D(2026, 3, 8, 4, 59), "CST"),
    ("America/Havana", D(2026, 3, 8, 0, 0), D(2026, 3, 8, 5, 0), "gap at midnight: CST offset"),
    ("America/Havana", D(2026, 3, 8, 0, 30), D(2026, 3, 8, 5, 30), "gap: CST offset"),
    ("America/Havana", D(2026, 3, 8, 1, 0), D(2026, 3, 8, 5, 0), "CDT"),
    ("America/Havana", D(2026, 11, 1, 0, 30), D(2026, 11, 1, 4, 30), "still CDT: no fold in 2026"),
    ("America/Havana", D(2026, 11, 1, 1, 30), D(2026, 11, 1, 5, 30), "still CDT"),
    ("America/Havana", D(2027, 3, 14, 0, 30), D(2027, 3, 14, 4, 30), "still CDT: no gap in 2027"),
    ("America/Havana", D(2027, 11, 6, 23, 59), D(2027, 11, 7, 3, 59), "CDT"),
    ("America/Havana", D(2027, 11, 7, 0, 0), D(2027, 11, 7, 4, 0), "fold at midnight: first (CDT)"),
    ("America/Havana", D(2027, 11, 7, 0, 30), D(2027, 11, 7, 4, 30), "fold: first (CDT)"),
    ("America/Havana", D(2027, 11, 7, 1, 0), D(2027, 11, 7, 6, 0), "CST"),
    ("America/Havana", D(2028, 3, 12, 0, 30), D(2028, 3, 12, 5, 30), "gap"),
    ("America/Havana", D(2028, 11, 5, 0, 30), D(2028, 11, 5, 4, 30), "fold"),
    # Kolkata: no DST
    ("Asia/Kolkata", D(2026, 1, 1, 0, 0), D(2025, 12, 31, 18, 30), "+05:30"),
    ("Asia/Kolkata", D(2027, 3, 14, 2, 30), D(2027, 3, 13, 21, 0), "+05:30 on New York's night"),
    ("Asia/Kolkata", D(2027, 11, 7, 1, 30), D(2027, 11, 6, 20, 0), "+05:30 on New York's night"),
    # Zones without transitions
    ("UTC", D(2027, 3, 14, 2, 30), D(2027, 3, 14, 2, 30), "UTC"),
    ("EST", D(2027, 7, 1, 12, 0), D(2027, 7, 1, 17, 0), "fixed -05:00, even in summer"),
    ("Etc/GMT-14", D(2027, 1, 1, 0, 0), D(2026, 12, 31, 10, 0), "+14 (the sign is inverted in Etc)"),
]


@pytest.mark.parametrize(
    ("zone", "local", "utc", "why"), TO_UTC, ids=[f"{z}-{lt:%Y%m%dT%H%M}" for z, lt, _, _ in TO_UTC]
)
def test_to_utc_resolves_gaps_with_the_offset_before_and_folds_to_the_first(
    zone: str, local: datetime, utc: datetime, why: str
) -> None:
    assert to_utc(local, zone_by_name(zone)) == utc, why


# (zone, naive UTC instant, expected offset)
OFFSETS = [
    ("America/New_York", D(2027, 3, 14, 6, 59), timedelta(hours=-5)),
    ("America/New_York", D(2027, 3, 14, 7, 0), timedelta(hours=-4)),
    ("America/New_York", D(2027, 11, 7, 5, 59), timedelta(hours=-4)),
    ("America/New_York", D(2027, 11, 7, 6, 0), timedelta(hours=-5)),
    ("Australia/Lord_Howe", D(2027, 10, 2, 15, 29), timedelta(hours=10, minutes=30)),
    ("Australia/Lord_Howe", D(2027, 10, 2, 15, 30), timedelta(hours=11)),
    ("Australia/Lord_Howe", D(2027, 4, 3, 14, 59), timedelta(hours=11)),
    ("Australia/Lord_Howe", D(2027, 4, 3, 15, 0), timedelta(hours=10, minutes=30)),
    ("Africa/Cairo", D(2027, 10, 28, 20, 59), timedelta(hours=3)),
    ("Africa/Cairo", D(2027, 10, 28, 21, 0), timedelta(hours=2)),
    ("America/Havana", D(2027, 1, 15, 12, 0), timedelta(hours=-4)),  # the 2026-2027 winter stays on CDT
    ("Asia/Kolkata", D(2027, 6, 1), timedelta(hours=5, minutes=30)),
]


@pytest.mark.parametrize(("zone", "utc", "offset"), OFFSETS)
def test_offset_at(zone: str, utc: datetime, offset: timedelta) -> None:
    assert offset_at(utc, zone_by_name(zone)) == offset


def test_to_local_shows_each_side_of_a_fold_with_its_own_offset() -> None:
    ny = zone_by_name("America/New_York")
    first = to_local(D(2027, 11, 7, 5, 30), ny)
    second = to_local(D(2027, 11, 7, 6, 30, tzinfo=UTC), ny)
    assert format_local(first) == "2027-11-07T01:30:00-04:00"
    assert format_local(second) == "2027-11-07T01:30:00-05:00"
    assert first.utcoffset() == timedelta(hours=-4)
    lord_howe = to_local(D(2027, 10, 2, 15, 45), zone_by_name("Australia/Lord_Howe"))
    assert format_local(lord_howe) == "2027-10-03T02:45:00+11:00"
    # An aware instant in another offset is converted to UTC first.
    plus_two = D(2027, 3, 16, 6, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_local(to_local(plus_two, ny)) == "2027-03-16T00:00:00-04:00"


def test_format_utc_accepts_naive_utc_and_aware_instants() -> None:
    assert format_utc(D(2027, 3, 16, 4, 0)) == "2027-03-16T04:00:00Z"
    assert format_utc(D(2027, 3, 16, 0, 0, tzinfo=timezone(timedelta(hours=-4)))) == "2027-03-16T04:00:00Z"
    assert format_local(D(2027, 3, 16, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))) == (
        "2027-03-16T00:00:00+05:30"
    )


# -- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Europe/London", "Europe/London"),
        ("europe/london", "Europe/London"),
        ("AMERICA/NEW_YORK", "America/New_York"),
        ("Australia/Lord_Howe", "Australia/Lord_Howe"),
        ("US/Eastern", "US/Eastern"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("Etc/GMT+5", "Etc/GMT+5"),
    ],
)
def test_iana_names_are_accepted_case_insensitively_without_warning(typed: str, canonical: str) -> None:
    resolved = resolve_zone(typed)
    assert (resolved.name, resolved.warning) == (canonical, None)


@pytest.mark.parametrize(
    ("typed", "warning"),
    [
        (
            "EST",
            "time zone 'EST' is a fixed offset (UTC-05:00) without daylight saving time; consider America/New_York",
        ),
        (
            "est",
            "time zone 'EST' is a fixed offset (UTC-05:00) without daylight saving time; consider America/New_York",
        ),
        ("MST", "time zone 'MST' is a fixed offset (UTC-07:00) without daylight saving time; consider America/Denver"),
        (
            "HST",
            "time zone 'HST' is a fixed offset (UTC-10:00) without daylight saving time; consider Pacific/Honolulu",
        ),
        ("CET", "time zone 'CET' is a legacy name, not a location zone; consider Europe/Paris"),
        ("EST5EDT", "time zone 'EST5EDT' is a legacy name, not a location zone; consider America/New_York"),
        ("GB", "time zone 'GB' is a legacy name, not a location zone; consider Europe/London"),
        ("Japan", "time zone 'Japan' is a fixed offset (UTC+09:00) without daylight saving time; consider Asia/Tokyo"),
    ],
)
def test_abbreviations_and_legacy_names_are_accepted_with_a_warning(typed: str, warning: str) -> None:
    resolved = resolve_zone(typed)
    assert resolved.warning == warning
    assert resolved.name == {"est": "EST"}.get(typed, typed)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("EDT", "unknown time zone 'EDT'; did you mean America/New_York?"),
        ("PDT", "unknown time zone 'PDT'; did you mean America/Los_Angeles?"),
        (
            "Europe/Londn",
            "unknown time zone 'Europe/Londn'; did you mean Europe/London or Europe/Lisbon or Europe/Oslo?",
        ),
        ("london", "unknown time zone 'london'; did you mean Europe/London?"),
        ("new york", "unknown time zone 'new york'; did you mean America/New_York?"),
        ("Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'; use an IANA name like Europe/London"),
        ("", "time zone 'local' is only allowed on window rules (it means the customer's zone)"),
        (LOCAL, "time zone 'local' is only allowed on window rules (it means the customer's zone)"),
    ],
)
def test_unknown_zones_are_refused_naming_close_matches(typed: str, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        resolve_zone(typed)
    assert error.value.message == message
    assert error.value.exit_code == 2


def test_zone_by_name_is_cached() -> None:
    assert zone_by_name("Europe/London") is zone_by_name("Europe/London")
