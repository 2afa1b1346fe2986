"""POSIX TZ strings (the footer rule of a TZif file): parsing, yearly dates, transitions.

Expected values are worked out by hand from POSIX.1-2017 §8.3 and RFC 8536 §3.3.1:

- offsets are written west-positive (``EST5`` is UTC-5); a daylight offset defaults to standard + 1 h;
- ``Mm.w.d``: weekday d (0 = Sunday) of week w (5 = the last) of month m; ``Jn``: day 1-365 where
  February 29 is never counted (J60 is always March 1); ``n``: zero-based day 0-365 where February 29
  is counted (59 is February 29 in a leap year, March 1 otherwise);
- the time of day defaults to 02:00, may be negative or up to 167 h, and is on the clock in force
  before the change (standard time for the start of daylight time, daylight time for its end).

Calendar facts used: 2040-03-11 and 2040-11-04 are the 2nd Sunday of March and 1st of November;
2045-03-01 is a Wednesday (4th Thursday: the 23rd); 2045-09-02 and 2045-04-01 are the first Saturdays
of September and April; 2045-03-26 and 2045-10-29 the last Sundays of March and October; 2044 is a
leap year whose February 29 is a Monday; 2199-12-28 is the last Saturday of 2199.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from windows.tzrule import PosixRule, RuleDate, parse_posix_tz

EPOCH = datetime(1970, 1, 1)


def at(seconds: int) -> str:
    return f"{EPOCH + timedelta(seconds=seconds):%Y-%m-%dT%H:%M:%S}"


def seconds(text: str) -> int:
    return int((datetime.fromisoformat(text) - EPOCH).total_seconds())


M = RuleDate

PARSED = [
    ("EST5EDT,M3.2.0,M11.1.0", PosixRule("EST", -18000, "EDT", -14400, M("M", 0, 3, 2), M("M", 0, 11, 1))),
    (
        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
        PosixRule("+1030", 37800, "+11", 39600, M("M", 0, 10, 1), M("M", 0, 4, 1)),
    ),
    ("IST-1GMT0,M10.5.0,M3.5.0/1", PosixRule("IST", 3600, "GMT", 0, M("M", 0, 10, 5), M("M", 0, 3, 5, 3600))),
    ("<-03>3", PosixRule("-03", -10800)),
    ("<+0545>-5:45", PosixRule("+0545", 20700)),
    ("UTC0", PosixRule("UTC", 0)),
    ("NST3:30NDT,M3.2.0,M11.1.0", PosixRule("NST", -12600, "NDT", -9000, M("M", 0, 3, 2), M("M", 0, 11, 1))),
    (  # no daylight offset: standard + 1 h; negative and zero times of day
        "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
        PosixRule("-02", -7200, "-01", -3600, M("M", 0, 3, 5, -3600), M("M", 0, 10, 5, 0)),
    ),
    (
        "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
        PosixRule("-04", -14400, "-03", -10800, M("M", 6, 9, 1, 86400), M("M", 6, 4, 1, 86400)),
    ),
    (
        "EET-2EEST,M3.4.4/50,M10.4.4/50",
        PosixRule("EET", 7200, "EEST", 10800, M("M", 4, 3, 4, 180000), M("M", 4, 10, 4, 180000)),
    ),
    (
        "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
        PosixRule("+1245", 45900, "+1345", 49500, M("M", 0, 9, 5, 9900), M("M", 0, 4, 1, 13500)),
    ),
    (
        "AAA3BBB,J60/1:30:15,300/-2",
        PosixRule("AAA", -10800, "BBB", -7200, M("J", 60, seconds=5415), M("n", 300, 0, 0, -7200)),
    ),
    (
        "WGT3WGST,M3.5.0/-2,M10.5.0/-1",
        PosixRule("WGT", -10800, "WGST", -7200, M("M", 0, 3, 5, -7200), M("M", 0, 10, 5, -3600)),
    ),
    (
        "AAA+3:00:01BBB-1,0/167,J365/-167",
        PosixRule("AAA", -10801, "BBB", 3600, M("n", 0, 0, 0, 601200), M("J", 365, 0, 0, -601200)),
    ),
]


@pytest.mark.parametrize(("text", "rule"), PARSED, ids=[text for text, _ in PARSED])
def test_parse(text: str, rule: PosixRule) -> None:
    assert parse_posix_tz(text) == rule


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("EST5EDT", "TZ string 'EST5EDT' names daylight time without the dates it starts and ends"),
        ("EST5EDT,M3.2.0", "TZ string 'EST5EDT,M3.2.0' names daylight time without the dates it starts and ends"),
        ("EST5,M3.2.0,M11.1.0", "TZ string 'EST5,M3.2.0,M11.1.0' has dates but no daylight time"),
        ("EST", "invalid TZ string 'EST'"),
        ("ES5", "invalid TZ string 'ES5'"),
        ("<AB>5", "invalid TZ string '<AB>5'"),
        ("E5T5", "invalid TZ string 'E5T5'"),
        ("EST25", "offset '25' out of range in TZ string 'EST25'"),
        ("EST5:60", "offset '5:60' out of range in TZ string 'EST5:60'"),
        ("EST5EDT,M13.1.0,M11.1.0", "invalid date 'M13.1.0' in TZ string 'EST5EDT,M13.1.0,M11.1.0'"),
        ("EST5EDT,M3.6.0,M11.1.0", "invalid date 'M3.6.0' in TZ string 'EST5EDT,M3.6.0,M11.1.0'"),
        ("EST5EDT,M3.0.0,M11.1.0", "invalid date 'M3.0.0' in TZ string 'EST5EDT,M3.0.0,M11.1.0'"),
        ("EST5EDT,M3.2.7,M11.1.0", "invalid date 'M3.2.7' in TZ string 'EST5EDT,M3.2.7,M11.1.0'"),
        ("EST5EDT,J0,J365", "invalid day 'J0' in TZ string 'EST5EDT,J0,J365'"),
        ("EST5EDT,0,366", "invalid day '366' in TZ string 'EST5EDT,0,366'"),
        ("EST5EDT,M3.2.0/168,M11.1.0", "time '168' out of range in TZ string 'EST5EDT,M3.2.0/168,M11.1.0'"),
        ("EST5EDT,M3.2.0/2:5,M11.1.0", "invalid time '2:5' in TZ string 'EST5EDT,M3.2.0/2:5,M11.1.0'"),
        ("EST5EDT,X3,M11.1.0", "invalid date 'X3' in TZ string 'EST5EDT,X3,M11.1.0'"),
        (
            "EST5EDT,M3.2.0,M11.1.0,J1",
            "TZ string 'EST5EDT,M3.2.0,M11.1.0,J1' has 3 dates; daylight time has a start and an end",
        ),
    ],
)
def test_invalid_strings_are_refused_naming_the_part(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_posix_tz(text)
    assert str(error.value) == message


LOCAL = [
    ("M3.2.0", 2040, "2040-03-11T02:00:00"),
    ("M11.1.0", 2040, "2040-11-04T02:00:00"),
    ("M3.5.0/1", 2045, "2045-03-26T01:00:00"),
    ("M10.5.0", 2045, "2045-10-29T02:00:00"),
    ("M3.5.0/-1", 2045, "2045-03-25T23:00:00"),  # the Saturday before, 23:00
    ("M9.1.6/24", 2045, "2045-09-03T00:00:00"),  # first Saturday 24:00 = Sunday 00:00
    ("M4.1.6/24", 2045, "2045-04-02T00:00:00"),
    ("M3.4.4/50", 2045, "2045-03-25T02:00:00"),  # 4th Thursday (23rd) + 50 h
    ("M12.5.6", 2199, "2199-12-28T02:00:00"),  # last week of December
    ("M2.5.0", 2044, "2044-02-28T02:00:00"),  # last Sunday of a leap February
    ("M2.5.1", 2044, "2044-02-29T02:00:00"),  # last Monday is February 29
    ("M2.5.1", 2045, "2045-02-27T02:00:00"),
    ("J1/0", 2044, "2044-01-01T00:00:00"),
    ("J59/0", 2044, "2044-02-28T00:00:00"),  # February 29 is never counted ...
    ("J60/0", 2044, "2044-03-01T00:00:00"),  # ... so J60 is March 1 in every year
    ("J60/0", 2045, "2045-03-01T00:00:00"),
    ("J365/25", 2045, "2046-01-01T01:00:00"),
    ("0/0", 2044, "2044-01-01T00:00:00"),  # zero-based
    ("59/0", 2044, "2044-02-29T00:00:00"),  # February 29 is counted
    ("59/0", 2045, "2045-03-01T00:00:00"),
    ("365/0", 2044, "2044-12-31T00:00:00"),
    ("M1.1.0/-167", 2045, "2044-12-25T01:00:00"),  # 2045-01-01 is a Sunday; 167 h earlier
]


@pytest.mark.parametrize(("date", "year", "local"), LOCAL, ids=[f"{d}-{y}" for d, y, _ in LOCAL])
def test_yearly_dates_on_the_local_clock(date: str, year: int, local: str) -> None:
    rule = parse_posix_tz(f"AAA0BBB,{date},J365")
    assert rule.start is not None
    assert at(rule.start.local_seconds(year)) == local


TRANSITIONS = [
    # New York: into EDT at 02:00 EST, back at 02:00 EDT
    ("EST5EDT,M3.2.0,M11.1.0", 2040, 2040, [("2040-03-11T07:00:00", -14400), ("2040-11-04T06:00:00", -18000)]),
    # Dublin: negative DST, "daylight" GMT from October to March
    ("IST-1GMT0,M10.5.0,M3.5.0/1", 2045, 2045, [("2045-03-26T01:00:00", 3600), ("2045-10-29T01:00:00", 0)]),
    # Sydney: the end of AEDT in April comes before its start in October
    (
        "AEST-10AEDT,M10.1.0,M4.1.0/3",
        2045,
        2045,
        [("2045-04-01T16:00:00", 36000), ("2045-09-30T16:00:00", 39600)],
    ),
    # Santiago: at 24:00 on Saturdays, on each side's own clock
    (
        "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
        2045,
        2046,
        [
            ("2045-04-02T03:00:00", -14400),
            ("2045-09-03T04:00:00", -10800),
            ("2046-04-08T03:00:00", -14400),
            ("2046-09-02T04:00:00", -10800),
        ],
    ),
    # Lord Howe: 30-minute DST
    (
        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
        2045,
        2045,
        [("2045-04-01T15:00:00", 37800), ("2045-09-30T15:30:00", 39600)],
    ),
    # Daylight time all year: each end meets the next start, so only the first start and the last end
    ("EST5EDT,0/0,J365/25", 2040, 2042, [("2040-01-01T05:00:00", -14400), ("2043-01-01T05:00:00", -18000)]),
    ("<-03>3", 2040, 2199, []),
]


@pytest.mark.parametrize(("text", "first", "last", "expected"), TRANSITIONS, ids=[t for t, *_ in TRANSITIONS])
def test_transitions(text: str, first: int, last: int, expected: list[tuple[str, int]]) -> None:
    assert [(at(t), offset) for t, offset in parse_posix_tz(text).transitions(first, last)] == expected


@pytest.mark.parametrize(
    ("text", "instant", "offset"),
    [
        ("EST5EDT,M3.2.0,M11.1.0", "2150-03-08T06:59:59", -18000),
        ("EST5EDT,M3.2.0,M11.1.0", "2150-03-08T07:00:00", -14400),
        ("EST5EDT,M3.2.0,M11.1.0", "2150-11-01T05:59:59", -14400),
        ("EST5EDT,M3.2.0,M11.1.0", "2150-11-01T06:00:00", -18000),
        ("AEST-10AEDT,M10.1.0,M4.1.0/3", "2045-01-01T00:00:00", 39600),  # southern summer spans New Year
        ("AEST-10AEDT,M10.1.0,M4.1.0/3", "2044-12-31T23:59:59", 39600),
        ("AEST-10AEDT,M10.1.0,M4.1.0/3", "2045-07-01T00:00:00", 36000),
        ("IST-1GMT0,M10.5.0,M3.5.0/1", "2045-01-15T12:00:00", 0),
        ("IST-1GMT0,M10.5.0,M3.5.0/1", "2045-07-15T12:00:00", 3600),
        ("<+0545>-5:45", "2199-12-31T23:59:59", 20700),
    ],
)
def test_offset_at(text: str, instant: str, offset: int) -> None:
    assert parse_posix_tz(text).offset_at(seconds(instant)) == offset
