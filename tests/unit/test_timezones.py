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

After 2037 (the end of the transitions listed in pytz's TZif files) each zone follows the POSIX TZ
rule at the end of its file:

- America/New_York ``EST5EDT,M3.2.0,M11.1.0``: as above (2040-03-11, 2040-11-04, 2150-03-08,
  2150-11-01, 2199-03-10, 2199-11-03).
- Australia/Sydney ``AEST-10AEDT,M10.1.0,M4.1.0/3``: 2045-04-02 and 2045-10-01.
- America/Santiago ``<-04>4<-03>,M9.1.6/24,M4.1.6/24``: -04 / -03, changing at 24:00 on the first
  Saturday of April (2045-04-01: 24:00 -03 -> 23:00 -04, a fold on Saturday 23:00-24:00) and of
  September (2045-09-02: 24:00 -04 -> 01:00 -03, a gap on Sunday 00:00-01:00).
- Australia/Lord_Howe ``<+1030>-10:30<+11>-11,M10.1.0,M4.1.0``: gap 02:00-02:30 on 2045-10-01,
  fold 01:30-02:00 on 2045-04-02.
- Europe/Dublin ``IST-1GMT0,M10.5.0,M3.5.0/1``: *negative* DST, IST +1 is standard time and GMT the
  winter "daylight" time; the clocks change like London's: gap 01:00-02:00 on 2045-03-26, fold
  01:00-02:00 on 2045-10-29.
- Africa/Monrovia: UTC-00:44:30 until 1972-01-07 00:44:30Z, then GMT (seconds are kept).
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

import pytest
import pytz
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from windows.errors import InvalidInput
from windows.timezones import (
    EPOCH,
    LOCAL,
    LocalClock,
    format_local,
    format_utc,
    offset_at,
    resolve_zone,
    to_local,
    to_utc,
    zone_by_name,
)
from windows.tzif import tzif_bytes

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
    # After 2037: the POSIX TZ rule of the zone's TZif file
    ("America/New_York", D(2040, 3, 11, 1, 59), D(2040, 3, 11, 6, 59), "EST"),
    ("America/New_York", D(2040, 3, 11, 2, 30), D(2040, 3, 11, 7, 30), "gap: EST offset"),
    ("America/New_York", D(2040, 3, 11, 3, 0), D(2040, 3, 11, 7, 0), "first EDT minute"),
    ("America/New_York", D(2040, 7, 3, 0, 0), D(2040, 7, 3, 4, 0), "EDT in summer (issue 9)"),
    ("America/New_York", D(2040, 11, 4, 1, 30), D(2040, 11, 4, 5, 30), "fold: first (EDT)"),
    ("America/New_York", D(2040, 11, 4, 2, 0), D(2040, 11, 4, 7, 0), "EST"),
    ("America/New_York", D(2150, 3, 8, 2, 30), D(2150, 3, 8, 7, 30), "gap"),
    ("America/New_York", D(2150, 7, 1, 12, 0), D(2150, 7, 1, 16, 0), "EDT"),
    ("America/New_York", D(2150, 11, 1, 1, 30), D(2150, 11, 1, 5, 30), "fold"),
    ("America/New_York", D(2199, 11, 3, 1, 30), D(2199, 11, 3, 5, 30), "fold in the last year"),
    ("America/New_York", D(2199, 12, 31, 23, 59), D(2200, 1, 1, 4, 59), "the last minute accepted"),
    ("Australia/Sydney", D(2045, 4, 2, 2, 30), D(2045, 4, 1, 15, 30), "fold: first (AEDT)"),
    ("Australia/Sydney", D(2045, 4, 2, 3, 0), D(2045, 4, 1, 17, 0), "AEST"),
    ("Australia/Sydney", D(2045, 10, 1, 2, 30), D(2045, 9, 30, 16, 30), "gap: AEST offset"),
    ("Australia/Sydney", D(2046, 1, 1, 0, 0), D(2045, 12, 31, 13, 0), "AEDT across New Year"),
    ("America/Santiago", D(2045, 4, 1, 22, 59), D(2045, 4, 2, 1, 59), "-03"),
    ("America/Santiago", D(2045, 4, 1, 23, 30), D(2045, 4, 2, 2, 30), "fold: first (-03)"),
    ("America/Santiago", D(2045, 4, 2, 0, 0), D(2045, 4, 2, 4, 0), "-04"),
    ("America/Santiago", D(2045, 9, 2, 23, 59), D(2045, 9, 3, 3, 59), "-04"),
    ("America/Santiago", D(2045, 9, 3, 0, 30), D(2045, 9, 3, 4, 30), "gap at midnight: -04 offset"),
    ("America/Santiago", D(2045, 9, 3, 1, 0), D(2045, 9, 3, 4, 0), "-03"),
    ("Australia/Lord_Howe", D(2045, 4, 2, 1, 45), D(2045, 4, 1, 14, 45), "fold: first (+11)"),
    ("Australia/Lord_Howe", D(2045, 4, 2, 2, 0), D(2045, 4, 1, 15, 30), "+10:30"),
    ("Australia/Lord_Howe", D(2045, 10, 1, 2, 15), D(2045, 9, 30, 15, 45), "gap: +10:30"),
    ("Australia/Lord_Howe", D(2045, 10, 1, 2, 30), D(2045, 9, 30, 15, 30), "+11"),
    ("Europe/Dublin", D(2045, 3, 26, 0, 59), D(2045, 3, 26, 0, 59), "GMT"),
    ("Europe/Dublin", D(2045, 3, 26, 1, 30), D(2045, 3, 26, 1, 30), "gap: GMT offset"),
    ("Europe/Dublin", D(2045, 3, 26, 2, 0), D(2045, 3, 26, 1, 0), "IST"),
    ("Europe/Dublin", D(2045, 10, 29, 1, 30), D(2045, 10, 29, 0, 30), "fold: first (IST)"),
    ("Europe/Dublin", D(2045, 10, 29, 2, 0), D(2045, 10, 29, 2, 0), "GMT"),
    ("Africa/Monrovia", D(1971, 6, 1, 12, 0), D(1971, 6, 1, 12, 44, 30), "-00:44:30, to the second"),
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
    ("America/New_York", D(2040, 3, 11, 6, 59, 59), timedelta(hours=-5)),
    ("America/New_York", D(2040, 3, 11, 7, 0), timedelta(hours=-4)),
    ("America/New_York", D(2040, 11, 4, 5, 59, 59), timedelta(hours=-4)),
    ("America/New_York", D(2040, 11, 4, 6, 0), timedelta(hours=-5)),
    ("America/New_York", D(2150, 11, 1, 5, 59, 59), timedelta(hours=-4)),
    ("America/New_York", D(2150, 11, 1, 6, 0), timedelta(hours=-5)),
    ("Australia/Lord_Howe", D(2045, 9, 30, 15, 29, 59), timedelta(hours=10, minutes=30)),
    ("Australia/Lord_Howe", D(2045, 9, 30, 15, 30), timedelta(hours=11)),
    ("Europe/Dublin", D(2045, 3, 26, 0, 59, 59), timedelta(0)),
    ("Europe/Dublin", D(2045, 3, 26, 1, 0), timedelta(hours=1)),
    ("Europe/Dublin", D(2045, 10, 29, 0, 59, 59), timedelta(hours=1)),
    ("Europe/Dublin", D(2045, 10, 29, 1, 0), timedelta(0)),
    ("Africa/Monrovia", D(1972, 1, 7, 0, 44, 29), timedelta(minutes=-44, seconds=-30)),
    ("Africa/Monrovia", D(1972, 1, 7, 0, 44, 30), timedelta(0)),
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
    # After 2037 too (pytz's own tables would say -05:00 for both).
    assert format_local(to_local(D(2040, 11, 4, 5, 30), ny)) == "2040-11-04T01:30:00-04:00"
    assert format_local(to_local(D(2040, 11, 4, 6, 30), ny)) == "2040-11-04T01:30:00-05:00"
    assert format_local(to_local(D(1971, 6, 1, 12), zone_by_name("Africa/Monrovia"))) == "1971-06-01T11:15:30-00:44:30"


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


# -- every zone against zoneinfo, 1970-2199 ------------------------------------------------------

ZONES = sorted(pytz.all_timezones)
EXAMPLES = int(os.environ.get("MAINTCAL_HYPOTHESIS_EXAMPLES", "150"))


@cache
def oracle(tzif: bytes) -> ZoneInfo:
    """zoneinfo reading the same TZif file pytz ships: the standard library's reading of the tz data."""
    return ZoneInfo.from_file(io.BytesIO(tzif))


def oracle_offset(zone: ZoneInfo, ts: int) -> timedelta | None:
    return datetime.fromtimestamp(ts, zone).utcoffset()


@cache
def oracle_transitions(tzif: bytes, first_year: int, last_year: int) -> tuple[tuple[int, int, int], ...]:
    """(UTC second, offset before, offset from then) of each change in the years given, found with zoneinfo only.

    The offset is probed on the 1st of every month; the changes between two probes are narrowed down
    to the second by bisection, several in one month too (Africa/El_Aaiun went -01 -> +00 -> +01
    within one month of 1976). No zone's daylight time lasts less than a month after 2037; before,
    a change and its reversal within one month would be missed, never misreported.
    """
    zone, found = oracle(tzif), []
    months = [int(D(y, m, 1, tzinfo=UTC).timestamp()) for y in range(first_year, last_year + 1) for m in range(1, 13)]
    months.append(int(D(last_year + 1, 1, 1, tzinfo=UTC).timestamp()))

    def narrow(lo: int, hi: int, before: timedelta | None, after: timedelta | None) -> None:
        """Every change in (lo, hi] where the offsets at the ends differ (several in one month too)."""
        if before == after:
            return
        if hi - lo == 1:
            assert before is not None and after is not None
            found.append((hi, int(before.total_seconds()), int(after.total_seconds())))
            return
        mid = (lo + hi) // 2
        middle = oracle_offset(zone, mid)
        narrow(lo, mid, before, middle)
        narrow(mid, hi, middle, after)

    previous, previous_offset = months[0], oracle_offset(zone, months[0])
    for probe in months[1:]:
        offset = oracle_offset(zone, probe)
        narrow(previous, probe, previous_offset, offset)
        previous, previous_offset = probe, offset
    return tuple(found)


@cache
def subject(name: str) -> tuple[tzinfo, LocalClock, ZoneInfo]:
    """The zone under test, its LocalClock, and zoneinfo's reading of the same file."""
    zone = zone_by_name(name)
    return zone, LocalClock(zone), oracle(tzif_bytes(name))


def disagreements_around(name: str, at: int, before: int, after: int) -> list[str]:
    """Where offset_at, to_utc or LocalClock disagree with zoneinfo around the change at UTC second ``at``.

    Offsets at the change +-1 s; local times just before the gap or fold, at its start, in it and at
    its end (zoneinfo with fold=0: the offset before a gap, the first of a fold).
    """
    zone, clock, truth = subject(name)
    problems = []
    for ts, expected in ((at - 1, before), (at, after), (at + 1, after)):
        instant = EPOCH + timedelta(seconds=ts)
        got = (int(offset_at(instant, zone).total_seconds()), clock.offset(ts))
        if got != (expected, expected):
            problems.append(f"{name} offset at {instant}: {got}, zoneinfo {expected}")
    low, high = at + min(before, after), at + max(before, after)
    for local_ts in (low - 1, low, (low + high) // 2, high):
        local = EPOCH + timedelta(seconds=local_ts)
        expected_utc = local.replace(tzinfo=truth, fold=0).astimezone(UTC).replace(tzinfo=None)
        got_utc = (to_utc(local, zone), EPOCH + timedelta(seconds=clock.utc(local_ts)))
        if got_utc != (expected_utc, expected_utc):
            problems.append(f"{name} {local} local: {got_utc}, zoneinfo {expected_utc}")
    # The same local times in one pass (as expansion resolves them): UTC and the offset at it.
    local_times = [low - 1, low, (low + high) // 2, high, at - 86400, at + 86400]
    for local_ts, utc, offset in zip(local_times, *clock.resolve_all(local_times), strict=True):
        local = EPOCH + timedelta(seconds=local_ts)
        expected = int(local.replace(tzinfo=truth, fold=0).timestamp())
        expected_offset = datetime.fromtimestamp(expected, truth).utcoffset()
        if (utc, offset) != (expected, int(expected_offset.total_seconds() if expected_offset else 0)):
            problems.append(f"{name} {local} local, resolve_all: {utc} {offset}, zoneinfo {expected}")
    return problems


def test_every_zone_agrees_with_zoneinfo_at_every_transition_from_2037_to_2199() -> None:
    """offset_at, to_utc and LocalClock, for all of pytz.all_timezones, around each change (exhaustive)."""
    checked, problems = 0, []
    for name in ZONES:
        for at, before, after in oracle_transitions(tzif_bytes(name), 2037, 2199):
            problems += disagreements_around(name, at, before, after)
            checked += 1
    assert problems == []
    assert checked > 50_000  # 2 changes a year for 163 years in each zone with DST


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.sampled_from(ZONES), st.integers(0, 2**32))
def test_transitions_from_1970_to_2037_agree_with_zoneinfo(name: str, pick: int) -> None:
    transitions = oracle_transitions(tzif_bytes(name), 1970, 2037)
    assume(transitions)
    assert disagreements_around(name, *transitions[pick % len(transitions)]) == []


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.sampled_from(ZONES), st.datetimes(D(1970, 1, 1), D(2199, 12, 31, 23, 59, 59)))
def test_any_time_from_1970_to_2199_agrees_with_zoneinfo(name: str, wall: datetime) -> None:
    zone, _, truth = subject(name)
    wall = wall.replace(microsecond=0)
    assert to_utc(wall, zone) == wall.replace(tzinfo=truth, fold=0).astimezone(UTC).replace(tzinfo=None)
    assert offset_at(wall, zone) == wall.replace(tzinfo=UTC).astimezone(truth).utcoffset()
    ts = int((wall - EPOCH).total_seconds())
    assert LocalClock(zone).utc(ts) == int(wall.replace(tzinfo=truth, fold=0).timestamp())
