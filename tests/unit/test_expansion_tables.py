"""Exact occurrences around the 2026-2028 DST transitions and after 2037 (DESIGN §2), worked out by hand.

The tz rules each row relies on (for after 2037: the POSIX TZ rule at the end of each zone's TZif
file) are listed at the top of ``test_timezones.py``. Weekly and one-off
windows are wall-clock: start and end are each resolved from local date + local time, so an
00:00-06:00 window lasts 5 h on a spring-forward night and 7 h on a fall-back night. A time in a gap
takes the offset before the gap (02:30 in New York on 2027-03-14 is 07:30Z, shown as 03:30 EDT); a
time in a fold is its first occurrence. Cron windows start at a resolved local firing and last the
duration in elapsed time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from windows.errors import InvalidInput
from windows.expansion import Occurrence, base_occurrence_id, expand
from windows.rules import CronRule, OnceRule, Rule, WeeklyRule
from windows.timezones import format_local, format_utc

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
NY, LON, SYD, LHI, CAI, HAV, KOL = (
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Africa/Cairo",
    "America/Havana",
    "Asia/Kolkata",
)
SCL, DUB = "America/Santiago", "Europe/Dublin"


def weekly(zone: str, days: str, start: str, end: str, name: str = "w") -> WeeklyRule:
    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    return WeeklyRule(
        "p",
        name,
        zone,
        None,
        None,
        None,
        days=tuple(sorted(DAYS[d] for d in days.split(","))),
        start=time(h1, m1),
        end=time(h2, m2),
    )


def cron(zone: str, expression: str, duration: timedelta) -> CronRule:
    return CronRule("p", "c", zone, None, None, None, expression=expression, duration=duration)


def once(zone: str, start: str, end: str, valid_from: date | None = None) -> OnceRule:
    return OnceRule(
        "p",
        "o",
        zone,
        valid_from,
        None,
        None,
        start=datetime.fromisoformat(start),
        end=datetime.fromisoformat(end),
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def around(day: date) -> tuple[datetime, datetime]:
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return midnight - timedelta(days=2), midnight + timedelta(days=3)


def shown(o: Occurrence) -> tuple[str, str, str, str, str]:
    return (o.id, format_utc(o.start), format_utc(o.end), format_local(o.local_start), format_local(o.local_end))


def occurrence_on(rule: Rule, day: date, *, local_tz: str | None = None, customer: str | None = None) -> Occurrence:
    found = [o for o in expand(rule, *around(day), local_tz=local_tz, customer=customer) if o.local_date == day]
    assert len(found) == 1, found
    return found[0]


# (rule, local start date, utc start, utc end, local start, local end, hours)
WEEKLY = [
    # New York: 00:00-06:00 lasts 5 h in March and 7 h in November, every year
    (weekly(NY, "sun", "00:00", "06:00"), "2026-03-08", "05:00Z", "10:00Z", "00:00-05:00", "06:00-04:00", 5),
    (weekly(NY, "sun", "00:00", "06:00"), "2026-11-01", "04:00Z", "11:00Z", "00:00-04:00", "06:00-05:00", 7),
    (weekly(NY, "sun", "00:00", "06:00"), "2027-03-07", "05:00Z", "11:00Z", "00:00-05:00", "06:00-05:00", 6),
    (weekly(NY, "sun", "00:00", "06:00"), "2027-03-14", "05:00Z", "10:00Z", "00:00-05:00", "06:00-04:00", 5),
    (weekly(NY, "sun", "00:00", "06:00"), "2027-03-21", "04:00Z", "10:00Z", "00:00-04:00", "06:00-04:00", 6),
    (weekly(NY, "sun", "00:00", "06:00"), "2027-11-07", "04:00Z", "11:00Z", "00:00-04:00", "06:00-05:00", 7),
    (weekly(NY, "sun", "00:00", "06:00"), "2028-03-12", "05:00Z", "10:00Z", "00:00-05:00", "06:00-04:00", 5),
    (weekly(NY, "sun", "00:00", "06:00"), "2028-11-05", "04:00Z", "11:00Z", "00:00-04:00", "06:00-05:00", 7),
    # crossing midnight: Sat 22:00 -> Sun 05:00
    (weekly(NY, "sat", "22:00", "05:00"), "2027-03-13", "+03:00Z", "+09:00Z", "22:00-05:00", "+05:00-04:00", 6),
    (weekly(NY, "sat", "22:00", "05:00"), "2027-11-06", "+02:00Z", "+10:00Z", "22:00-04:00", "+05:00-05:00", 8),
    (weekly(NY, "tue,wed,thu", "22:00", "05:00"), "2027-03-16", "+02:00Z", "+09:00Z", "22:00-04:00", "+05:00-04:00", 7),
    # starting / ending inside the gap (offset before) and the fold (first occurrence)
    (weekly(NY, "sun", "02:30", "04:00"), "2027-03-14", "07:30Z", "08:00Z", "03:30-04:00", "04:00-04:00", 0.5),
    (weekly(NY, "sun", "01:00", "02:30"), "2027-03-14", "06:00Z", "07:30Z", "01:00-05:00", "03:30-04:00", 1.5),
    (weekly(NY, "sun", "02:00", "02:45"), "2027-03-14", "07:00Z", "07:45Z", "03:00-04:00", "03:45-04:00", 0.75),
    (weekly(NY, "sun", "01:30", "03:00"), "2027-11-07", "05:30Z", "08:00Z", "01:30-04:00", "03:00-05:00", 2.5),
    (weekly(NY, "sun", "00:00", "01:30"), "2027-11-07", "04:00Z", "05:30Z", "00:00-04:00", "01:30-04:00", 1.5),
    # London
    (weekly(LON, "sun", "00:00", "06:00"), "2026-03-29", "00:00Z", "05:00Z", "00:00+00:00", "06:00+01:00", 5),
    (weekly(LON, "sun", "00:00", "06:00"), "2026-10-25", "-23:00Z", "06:00Z", "00:00+01:00", "06:00+00:00", 7),
    (weekly(LON, "sun", "00:00", "06:00"), "2027-03-28", "00:00Z", "05:00Z", "00:00+00:00", "06:00+01:00", 5),
    (weekly(LON, "sun", "00:00", "06:00"), "2027-10-31", "-23:00Z", "06:00Z", "00:00+01:00", "06:00+00:00", 7),
    (weekly(LON, "sun", "00:00", "06:00"), "2028-03-26", "00:00Z", "05:00Z", "00:00+00:00", "06:00+01:00", 5),
    (weekly(LON, "sun", "00:00", "06:00"), "2028-10-29", "-23:00Z", "06:00Z", "00:00+01:00", "06:00+00:00", 7),
    (weekly(LON, "sun", "01:30", "03:00"), "2027-03-28", "01:30Z", "02:00Z", "02:30+01:00", "03:00+01:00", 0.5),
    (weekly(LON, "sun", "01:30", "03:00"), "2027-10-31", "00:30Z", "03:00Z", "01:30+01:00", "03:00+00:00", 2.5),
    (weekly(LON, "sat", "22:00", "05:00"), "2027-03-27", "22:00Z", "+04:00Z", "22:00+00:00", "+05:00+01:00", 6),
    # Sydney: the fold is in April, the gap in October
    (weekly(SYD, "sun", "00:00", "06:00"), "2026-04-05", "-13:00Z", "-20:00Z", "00:00+11:00", "06:00+10:00", 7),
    (weekly(SYD, "sun", "00:00", "06:00"), "2026-10-04", "-14:00Z", "-19:00Z", "00:00+10:00", "06:00+11:00", 5),
    (weekly(SYD, "sun", "00:00", "06:00"), "2027-04-04", "-13:00Z", "-20:00Z", "00:00+11:00", "06:00+10:00", 7),
    (weekly(SYD, "sun", "00:00", "06:00"), "2027-10-03", "-14:00Z", "-19:00Z", "00:00+10:00", "06:00+11:00", 5),
    (weekly(SYD, "sun", "00:00", "06:00"), "2028-04-02", "-13:00Z", "-20:00Z", "00:00+11:00", "06:00+10:00", 7),
    (weekly(SYD, "sun", "00:00", "06:00"), "2028-10-01", "-14:00Z", "-19:00Z", "00:00+10:00", "06:00+11:00", 5),
    (weekly(SYD, "sun", "02:30", "04:00"), "2027-10-03", "-16:30Z", "-17:00Z", "03:30+11:00", "04:00+11:00", 0.5),
    (weekly(SYD, "sun", "02:30", "04:00"), "2027-04-04", "-15:30Z", "-18:00Z", "02:30+11:00", "04:00+10:00", 2.5),
    # Lord Howe: 30-minute shift, so 5 h 30 and 6 h 30
    (weekly(LHI, "sun", "00:00", "06:00"), "2026-04-05", "-13:00Z", "-19:30Z", "00:00+11:00", "06:00+10:30", 6.5),
    (weekly(LHI, "sun", "00:00", "06:00"), "2026-10-04", "-13:30Z", "-19:00Z", "00:00+10:30", "06:00+11:00", 5.5),
    (weekly(LHI, "sun", "00:00", "06:00"), "2027-04-04", "-13:00Z", "-19:30Z", "00:00+11:00", "06:00+10:30", 6.5),
    (weekly(LHI, "sun", "00:00", "06:00"), "2027-10-03", "-13:30Z", "-19:00Z", "00:00+10:30", "06:00+11:00", 5.5),
    (weekly(LHI, "sun", "00:00", "06:00"), "2028-04-02", "-13:00Z", "-19:30Z", "00:00+11:00", "06:00+10:30", 6.5),
    (weekly(LHI, "sun", "00:00", "06:00"), "2028-10-01", "-13:30Z", "-19:00Z", "00:00+10:30", "06:00+11:00", 5.5),
    (weekly(LHI, "sun", "02:15", "03:00"), "2027-10-03", "-15:45Z", "-16:00Z", "02:45+11:00", "03:00+11:00", 0.25),
    (weekly(LHI, "sun", "01:45", "03:00"), "2027-04-04", "-14:45Z", "-16:30Z", "01:45+11:00", "03:00+10:30", 1.75),
    # Cairo: the gap is Friday 00:00-01:00, the fold Thursday 23:00-24:00
    (weekly(CAI, "fri", "00:00", "06:00"), "2026-04-24", "-22:00Z", "03:00Z", "01:00+03:00", "06:00+03:00", 5),
    (weekly(CAI, "fri", "00:00", "06:00"), "2027-04-30", "-22:00Z", "03:00Z", "01:00+03:00", "06:00+03:00", 5),
    (weekly(CAI, "fri", "00:00", "06:00"), "2028-04-28", "-22:00Z", "03:00Z", "01:00+03:00", "06:00+03:00", 5),
    (weekly(CAI, "fri", "00:00", "06:00"), "2027-10-29", "-22:00Z", "04:00Z", "00:00+02:00", "06:00+02:00", 6),
    (weekly(CAI, "thu", "22:00", "05:00"), "2026-10-29", "19:00Z", "+03:00Z", "22:00+03:00", "+05:00+02:00", 8),
    (weekly(CAI, "thu", "22:00", "05:00"), "2027-10-28", "19:00Z", "+03:00Z", "22:00+03:00", "+05:00+02:00", 8),
    (weekly(CAI, "thu", "22:00", "05:00"), "2028-10-26", "19:00Z", "+03:00Z", "22:00+03:00", "+05:00+02:00", 8),
    (weekly(CAI, "thu", "22:00", "05:00"), "2027-04-29", "20:00Z", "+02:00Z", "22:00+02:00", "+05:00+03:00", 6),
    (weekly(CAI, "thu", "23:30", "01:00"), "2027-10-28", "20:30Z", "23:00Z", "23:30+03:00", "+01:00+02:00", 2.5),
    # Havana: midnight gap/fold, and no change at all in November 2026 / March 2027 (tzdata 2026f)
    (weekly(HAV, "sun", "00:00", "06:00"), "2026-03-08", "05:00Z", "10:00Z", "01:00-04:00", "06:00-04:00", 5),
    (weekly(HAV, "sun", "00:00", "06:00"), "2026-11-01", "04:00Z", "10:00Z", "00:00-04:00", "06:00-04:00", 6),
    (weekly(HAV, "sun", "00:00", "06:00"), "2027-03-14", "04:00Z", "10:00Z", "00:00-04:00", "06:00-04:00", 6),
    (weekly(HAV, "sun", "00:00", "06:00"), "2027-11-07", "04:00Z", "11:00Z", "00:00-04:00", "06:00-05:00", 7),
    (weekly(HAV, "sun", "00:00", "06:00"), "2028-03-12", "05:00Z", "10:00Z", "01:00-04:00", "06:00-04:00", 5),
    (weekly(HAV, "sun", "00:00", "06:00"), "2028-11-05", "04:00Z", "11:00Z", "00:00-04:00", "06:00-05:00", 7),
    (weekly(HAV, "sat", "22:00", "05:00"), "2027-11-06", "+02:00Z", "+10:00Z", "22:00-04:00", "+05:00-05:00", 8),
    (weekly(HAV, "sat", "23:30", "00:30"), "2028-03-11", "+04:30Z", "+05:30Z", "23:30-05:00", "+01:30-04:00", 1),
    # Kolkata: no DST, the same 6 h on every night
    (weekly(KOL, "tue", "00:00", "06:00"), "2027-03-16", "-18:30Z", "00:30Z", "00:00+05:30", "06:00+05:30", 6),
    (weekly(KOL, "sun", "00:00", "06:00"), "2027-11-07", "-18:30Z", "00:30Z", "00:00+05:30", "06:00+05:30", 6),
    (weekly(KOL, "sat", "22:00", "05:00"), "2027-03-13", "16:30Z", "23:30Z", "22:00+05:30", "+05:00+05:30", 7),
    # -- after 2037: pytz's own tables end there; the zone's POSIX TZ rule takes over --
    # New York 2040 and 2150: spring forward (5 h), fall back (7 h), and summer time in between
    (weekly(NY, "sun", "00:00", "06:00"), "2040-03-11", "05:00Z", "10:00Z", "00:00-05:00", "06:00-04:00", 5),
    (weekly(NY, "tue", "00:00", "06:00"), "2040-07-03", "04:00Z", "10:00Z", "00:00-04:00", "06:00-04:00", 6),
    (weekly(NY, "sun", "00:00", "06:00"), "2040-11-04", "04:00Z", "11:00Z", "00:00-04:00", "06:00-05:00", 7),
    (weekly(NY, "sun", "00:00", "06:00"), "2150-03-08", "05:00Z", "10:00Z", "00:00-05:00", "06:00-04:00", 5),
    (weekly(NY, "sun", "02:30", "04:00"), "2150-03-08", "07:30Z", "08:00Z", "03:30-04:00", "04:00-04:00", 0.5),
    (weekly(NY, "tue", "00:00", "06:00"), "2150-07-07", "04:00Z", "10:00Z", "00:00-04:00", "06:00-04:00", 6),
    (weekly(NY, "sun", "00:00", "06:00"), "2150-11-01", "04:00Z", "11:00Z", "00:00-04:00", "06:00-05:00", 7),
    (weekly(NY, "sun", "01:30", "03:00"), "2150-11-01", "05:30Z", "08:00Z", "01:30-04:00", "03:00-05:00", 2.5),
    (weekly(NY, "sun", "00:00", "06:00"), "2199-11-03", "04:00Z", "11:00Z", "00:00-04:00", "06:00-05:00", 7),
    # Sydney 2045: the fold in April, the gap in October
    (weekly(SYD, "sun", "00:00", "06:00"), "2045-04-02", "-13:00Z", "-20:00Z", "00:00+11:00", "06:00+10:00", 7),
    (weekly(SYD, "sun", "00:00", "06:00"), "2045-10-01", "-14:00Z", "-19:00Z", "00:00+10:00", "06:00+11:00", 5),
    # Santiago 2045: changes at 24:00 on Saturdays: fold Sat 23:00-24:00 in April, gap Sun 00:00-01:00
    (weekly(SCL, "sat", "22:00", "05:00"), "2045-04-01", "+01:00Z", "+09:00Z", "22:00-03:00", "+05:00-04:00", 8),
    (weekly(SCL, "sun", "00:00", "06:00"), "2045-09-03", "04:00Z", "09:00Z", "01:00-03:00", "06:00-03:00", 5),
    # Lord Howe 2045: 30-minute shift
    (weekly(LHI, "sun", "00:00", "06:00"), "2045-04-02", "-13:00Z", "-19:30Z", "00:00+11:00", "06:00+10:30", 6.5),
    (weekly(LHI, "sun", "00:00", "06:00"), "2045-10-01", "-13:30Z", "-19:00Z", "00:00+10:30", "06:00+11:00", 5.5),
    (weekly(LHI, "sun", "02:15", "03:00"), "2045-10-01", "-15:45Z", "-16:00Z", "02:45+11:00", "03:00+11:00", 0.25),
    # Dublin 2045: negative DST in the data (IST is standard time, GMT the winter time), clocks like London
    (weekly(DUB, "sun", "00:00", "06:00"), "2045-03-26", "00:00Z", "05:00Z", "00:00+00:00", "06:00+01:00", 5),
    (weekly(DUB, "sun", "01:30", "03:00"), "2045-03-26", "01:30Z", "02:00Z", "02:30+01:00", "03:00+01:00", 0.5),
    (weekly(DUB, "sun", "00:00", "06:00"), "2045-10-29", "-23:00Z", "06:00Z", "00:00+01:00", "06:00+00:00", 7),
    (weekly(DUB, "sun", "01:30", "03:00"), "2045-10-29", "00:30Z", "03:00Z", "01:30+01:00", "03:00+00:00", 2.5),
]


def instant(day: date, text: str) -> str:
    """``05:00Z`` on ``day``; ``-23:00Z`` the day before, ``+03:00Z`` the day after."""
    shift = {"-": -1, "+": 1}.get(text[0], 0)
    clock = text[1:] if shift else text
    return f"{day + timedelta(days=shift):%Y-%m-%d}T{clock[:5]}:00Z"


def local(day: date, text: str) -> str:
    """``00:00-05:00`` on ``day`` with its offset; ``+05:00-04:00`` the day after."""
    shift = 1 if text[0] == "+" else 0
    clock = text[1:] if shift else text
    return f"{day + timedelta(days=shift):%Y-%m-%d}T{clock[:5]}:00{clock[5:]}"


@pytest.mark.parametrize(
    ("rule", "day", "start", "end", "local_start", "local_end", "hours"),
    WEEKLY,
    ids=[f"{r.timezone}-{r.describe()}-{d}" for r, d, *_ in WEEKLY],
)
def test_weekly_windows_around_transitions(
    rule: WeeklyRule, day: str, start: str, end: str, local_start: str, local_end: str, hours: float
) -> None:
    d = date.fromisoformat(day)
    o = occurrence_on(rule, d)
    assert shown(o) == (
        f"p.w.{d:%Y%m%d}",
        instant(d, start),
        instant(d, end),
        local(d, local_start),
        local(d, local_end),
    )
    assert o.seconds == hours * 3600
    assert (o.product, o.rule, o.customer, o.base_id, o.timezone, o.kind) == (
        "p",
        "w",
        None,
        o.id,
        rule.timezone,
        "planned",
    )


def test_a_window_wholly_inside_the_gap_has_no_occurrence_that_night() -> None:
    # 02:30-03:00 does not exist on 2027-03-14 in New York: 07:30Z-07:00Z is empty, so it is dropped.
    rule = weekly(NY, "sun", "02:30", "03:00")
    found = expand(rule, utc("2027-03-06T00:00:00Z"), utc("2027-03-22T00:00:00Z"))
    assert [shown(o)[:3] for o in found] == [
        ("p.w.20270307", "2027-03-07T07:30:00Z", "2027-03-07T08:00:00Z"),
        ("p.w.20270321", "2027-03-21T06:30:00Z", "2027-03-21T07:00:00Z"),
    ]


# -- cron ---------------------------------------------------------------------------------------

# (rule, id suffix, utc start, utc end, local start, local end)
CRON = [
    # one firing a day; 02:30 does not exist on 2027-03-14 and becomes 03:30 EDT
    (cron(NY, "30 2 * * *", timedelta(hours=1)), "20270313",
     "2027-03-13T07:30", "2027-03-13T08:30", "2027-03-13T02:30:00-05:00", "2027-03-13T03:30:00-05:00"),
    (cron(NY, "30 2 * * *", timedelta(hours=1)), "20270314",
     "2027-03-14T07:30", "2027-03-14T08:30", "2027-03-14T03:30:00-04:00", "2027-03-14T04:30:00-04:00"),
    # 01:30 twice on 2027-11-07: naive iteration fires once, at the first one; 1 h later is 01:30 EST
    (cron(NY, "30 1 * * *", timedelta(hours=1)), "20271107",
     "2027-11-07T05:30", "2027-11-07T06:30", "2027-11-07T01:30:00-04:00", "2027-11-07T01:30:00-05:00"),
    # the end is start + elapsed duration, not a wall-clock time (unlike a weekly 00:00-06:00)
    (cron(NY, "0 0 * * sun", timedelta(hours=6)), "20270314",
     "2027-03-14T05:00", "2027-03-14T11:00", "2027-03-14T00:00:00-05:00", "2027-03-14T07:00:00-04:00"),
    (cron(NY, "0 0 * * sun", timedelta(hours=6)), "20271107",
     "2027-11-07T04:00", "2027-11-07T10:00", "2027-11-07T00:00:00-04:00", "2027-11-07T05:00:00-05:00"),
    (cron(LHI, "15 2 * * *", timedelta(minutes=30)), "20271003",
     "2027-10-02T15:45", "2027-10-02T16:15", "2027-10-03T02:45:00+11:00", "2027-10-03T03:15:00+11:00"),
    (cron(CAI, "0 0 * * fri", timedelta(hours=2)), "20270430",
     "2027-04-29T22:00", "2027-04-30T00:00", "2027-04-30T01:00:00+03:00", "2027-04-30T03:00:00+03:00"),
    (cron(HAV, "30 0 * * *", timedelta(hours=1)), "20271107",
     "2027-11-07T04:30", "2027-11-07T05:30", "2027-11-07T00:30:00-04:00", "2027-11-07T00:30:00-05:00"),
    (cron(KOL, "0 3 * * *", timedelta(hours=1)), "20270314",
     "2027-03-13T21:30", "2027-03-13T22:30", "2027-03-14T03:00:00+05:30", "2027-03-14T04:00:00+05:30"),
    # a week-long window is cut where the next one starts: 03:00 EST + 7 d > 03:00 EDT a week later
    (cron(NY, "0 3 * * sun", timedelta(days=7)), "20270307",
     "2027-03-07T08:00", "2027-03-14T07:00", "2027-03-07T03:00:00-05:00", "2027-03-14T03:00:00-04:00"),
    (cron(NY, "0 3 * * sun", timedelta(days=7)), "20270314",
     "2027-03-14T07:00", "2027-03-21T07:00", "2027-03-14T03:00:00-04:00", "2027-03-21T03:00:00-04:00"),
    # after 2037
    (cron(NY, "30 2 * * *", timedelta(hours=1)), "20400311",
     "2040-03-11T07:30", "2040-03-11T08:30", "2040-03-11T03:30:00-04:00", "2040-03-11T04:30:00-04:00"),
    (cron(NY, "30 1 * * *", timedelta(hours=1)), "21501101",
     "2150-11-01T05:30", "2150-11-01T06:30", "2150-11-01T01:30:00-04:00", "2150-11-01T01:30:00-05:00"),
    (cron(SCL, "30 23 * * sat", timedelta(hours=1)), "20450401",
     "2045-04-02T02:30", "2045-04-02T03:30", "2045-04-01T23:30:00-03:00", "2045-04-01T23:30:00-04:00"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "suffix", "start", "end", "local_start", "local_end"), CRON)
def test_cron_windows_around_transitions(
    rule: CronRule, suffix: str, start: str, end: str, local_start: str, local_end: str
) -> None:
    day = datetime.strptime(suffix[:8], "%Y%m%d").date()
    o = next(o for o in expand(rule, *around(day)) if o.id == f"p.c.{suffix}")
    assert shown(o) == (f"p.c.{suffix}", f"{start}:00Z", f"{end}:00Z", local_start, local_end)


def day_ids(rule: CronRule, day: date) -> list[tuple[str, str, str]]:
    return [shown(o)[:3] for o in expand(rule, *around(day)) if o.local_date == day]


def test_several_firings_a_day_get_thhmm_ids() -> None:
    rule = cron(LON, "0 */6 * * *", timedelta(hours=1))
    assert day_ids(rule, date(2027, 3, 28)) == [
        ("p.c.20270328T0000", "2027-03-28T00:00:00Z", "2027-03-28T01:00:00Z"),  # GMT; ends 02:00 BST
        ("p.c.20270328T0600", "2027-03-28T05:00:00Z", "2027-03-28T06:00:00Z"),
        ("p.c.20270328T1200", "2027-03-28T11:00:00Z", "2027-03-28T12:00:00Z"),
        ("p.c.20270328T1800", "2027-03-28T17:00:00Z", "2027-03-28T18:00:00Z"),
    ]


def test_firings_in_the_gap_are_overtaken_by_the_next_ones() -> None:
    # 01:00 01:30 02:00 02:30 03:00 03:30 local: 02:00 and 02:30 resolve to 07:00Z and 07:30Z, the same
    # instants as 03:00 and 03:30 EDT, so they give way to them.
    rule = cron(NY, "*/30 1-3 * * *", timedelta(minutes=30))
    assert day_ids(rule, date(2027, 3, 14)) == [
        ("p.c.20270314T0100", "2027-03-14T06:00:00Z", "2027-03-14T06:30:00Z"),
        ("p.c.20270314T0130", "2027-03-14T06:30:00Z", "2027-03-14T07:00:00Z"),
        ("p.c.20270314T0300", "2027-03-14T07:00:00Z", "2027-03-14T07:30:00Z"),
        ("p.c.20270314T0330", "2027-03-14T07:30:00Z", "2027-03-14T08:00:00Z"),
    ]


def test_the_repeated_hour_fires_once() -> None:
    rule = cron(NY, "*/30 1-2 * * *", timedelta(minutes=30))
    assert day_ids(rule, date(2027, 11, 7)) == [
        ("p.c.20271107T0100", "2027-11-07T05:00:00Z", "2027-11-07T05:30:00Z"),
        ("p.c.20271107T0130", "2027-11-07T05:30:00Z", "2027-11-07T06:00:00Z"),
        ("p.c.20271107T0200", "2027-11-07T07:00:00Z", "2027-11-07T07:30:00Z"),
        ("p.c.20271107T0230", "2027-11-07T07:30:00Z", "2027-11-07T08:00:00Z"),
    ]


def test_every_minute_crons_have_distinct_ids() -> None:
    rule = cron(KOL, "* * * * *", timedelta(seconds=30))
    found = expand(rule, utc("2027-03-14T00:00:00Z"), utc("2027-03-14T00:03:00Z"))
    assert [o.id for o in found] == ["p.c.20270314T0530", "p.c.20270314T0531", "p.c.20270314T0532"]


# -- one-off ------------------------------------------------------------------------------------

ONCE = [
    (once(NY, "2027-03-14T01:00", "2027-03-14T04:00"), "p.o.20270314", "2027-03-14T06:00:00Z", "2027-03-14T08:00:00Z",
     "2027-03-14T01:00:00-05:00", "2027-03-14T04:00:00-04:00"),
    (once(LON, "2027-10-31T00:30", "2027-10-31T01:30"), "p.o.20271031", "2027-10-30T23:30:00Z", "2027-10-31T00:30:00Z",
     "2027-10-31T00:30:00+01:00", "2027-10-31T01:30:00+01:00"),
    (once(LHI, "2027-10-03T02:00", "2027-10-03T03:00"), "p.o.20271003", "2027-10-02T15:30:00Z", "2027-10-02T16:00:00Z",
     "2027-10-03T02:30:00+11:00", "2027-10-03T03:00:00+11:00"),
    (once(CAI, "2027-10-28T23:00", "2027-10-29T00:00"), "p.o.20271028", "2027-10-28T20:00:00Z", "2027-10-28T22:00:00Z",
     "2027-10-28T23:00:00+03:00", "2027-10-29T00:00:00+02:00"),
    (once(HAV, "2026-03-07T23:00", "2026-03-08T02:00"), "p.o.20260307", "2026-03-08T04:00:00Z", "2026-03-08T06:00:00Z",
     "2026-03-07T23:00:00-05:00", "2026-03-08T02:00:00-04:00"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "id_", "start", "end", "local_start", "local_end"), ONCE)
def test_one_off_windows(rule: OnceRule, id_: str, start: str, end: str, local_start: str, local_end: str) -> None:
    found = expand(rule, utc("2026-01-01T00:00:00Z"), utc("2029-01-01T00:00:00Z"))
    assert [shown(o) for o in found] == [(id_, start, end, local_start, local_end)]


ONCE_LATER = [
    (once(NY, "2150-11-01T00:30", "2150-11-01T01:30"), "p.o.21501101", "2150-11-01T04:30:00Z", "2150-11-01T05:30:00Z",
     "2150-11-01T00:30:00-04:00", "2150-11-01T01:30:00-04:00"),
    (once(DUB, "2045-03-26T00:30", "2045-03-26T03:00"), "p.o.20450326", "2045-03-26T00:30:00Z", "2045-03-26T02:00:00Z",
     "2045-03-26T00:30:00+00:00", "2045-03-26T03:00:00+01:00"),
    (once(SCL, "2045-09-02T23:00", "2045-09-03T00:30"), "p.o.20450902", "2045-09-03T03:00:00Z", "2045-09-03T04:30:00Z",
     "2045-09-02T23:00:00-04:00", "2045-09-03T01:30:00-03:00"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "id_", "start", "end", "local_start", "local_end"), ONCE_LATER)
def test_one_off_windows_after_2037(
    rule: OnceRule, id_: str, start: str, end: str, local_start: str, local_end: str
) -> None:
    found = expand(rule, utc("2040-01-01T00:00:00Z"), utc("2151-01-01T00:00:00Z"))
    assert [shown(o) for o in found] == [(id_, start, end, local_start, local_end)]


def test_one_off_outside_the_range_or_before_valid_from_is_not_expanded() -> None:
    rule = once(NY, "2027-03-14T01:00", "2027-03-14T04:00")
    assert expand(rule, utc("2027-03-14T08:00:00Z"), utc("2027-03-15T00:00:00Z")) == []
    assert expand(rule, utc("2027-03-13T00:00:00Z"), utc("2027-03-14T06:00:00Z")) == []
    assert len(expand(rule, utc("2027-03-14T07:59:00Z"), utc("2027-03-14T08:00:00Z"))) == 1
    late = once(NY, "2027-03-14T01:00", "2027-03-14T04:00", valid_from=date(2027, 3, 15))
    assert expand(late, utc("2027-03-01T00:00:00Z"), utc("2027-04-01T00:00:00Z")) == []


# -- 'local' rules: one rule, expanded in each customer's zone -----------------------------------

PUREENGAGE = WeeklyRule(
    "pureengage-cloud", "early-morning", "local", None, None, None, days=(1, 3), start=time(0), end=time(6)
)

LOCAL = [
    ("thames-telecom", LON, "2027-03-16", "2027-03-16T00:00:00Z", "2027-03-16T06:00:00Z", "+00:00"),
    ("harbour-health", SYD, "2027-03-16", "2027-03-15T13:00:00Z", "2027-03-15T19:00:00Z", "+11:00"),
    ("deccan-retail", KOL, "2027-03-16", "2027-03-15T18:30:00Z", "2027-03-16T00:30:00Z", "+05:30"),
    ("pacific-media", "America/Los_Angeles", "2027-03-16", "2027-03-16T07:00:00Z", "2027-03-16T13:00:00Z", "-07:00"),
    ("nile-logistics", CAI, "2027-03-16", "2027-03-15T22:00:00Z", "2027-03-16T04:00:00Z", "+02:00"),
    ("thames-telecom", LON, "2027-03-30", "2027-03-29T23:00:00Z", "2027-03-30T05:00:00Z", "+01:00"),
    ("harbour-health", SYD, "2027-04-06", "2027-04-05T14:00:00Z", "2027-04-05T20:00:00Z", "+10:00"),
    ("nile-logistics", CAI, "2027-10-28", "2027-10-27T21:00:00Z", "2027-10-28T03:00:00Z", "+03:00"),
    ("thames-telecom", LON, "2040-07-03", "2040-07-02T23:00:00Z", "2040-07-03T05:00:00Z", "+01:00"),
    ("harbour-health", SYD, "2045-01-03", "2045-01-02T13:00:00Z", "2045-01-02T19:00:00Z", "+11:00"),
    ("pacific-media", "America/Los_Angeles", "2150-07-07", "2150-07-07T07:00:00Z", "2150-07-07T13:00:00Z", "-07:00"),
]


@pytest.mark.parametrize(("customer", "zone", "day", "start", "end", "offset"), LOCAL)
def test_local_rules_use_each_customers_zone(
    customer: str, zone: str, day: str, start: str, end: str, offset: str
) -> None:
    d = date.fromisoformat(day)
    o = occurrence_on(PUREENGAGE, d, local_tz=zone, customer=customer)
    base = f"pureengage-cloud.early-morning.{d:%Y%m%d}"
    assert shown(o) == (f"{base}.{customer}", start, end, f"{day}T00:00:00{offset}", f"{day}T06:00:00{offset}")
    assert (o.base_id, o.customer, o.timezone) == (base, customer, zone)


def test_local_rule_needs_a_customer_zone() -> None:
    with pytest.raises(InvalidInput) as error:
        expand(PUREENGAGE, *around(date(2027, 3, 16)))
    assert error.value.message == (
        "rule 'early-morning' of pureengage-cloud uses the customer's local time: name a customer"
    )


def test_customer_is_ignored_for_rules_in_a_fixed_zone() -> None:
    rule = weekly(NY, "tue", "00:00", "06:00")
    o = expand(rule, *around(date(2027, 3, 16)), local_tz=LON, customer="thames-telecom")[0]
    assert (o.id, o.customer, o.timezone) == ("p.w.20270316", None, NY)


# -- the query range ----------------------------------------------------------------------------


def test_occurrences_overlapping_the_half_open_range_are_returned_in_order() -> None:
    rule = weekly(NY, "tue,thu", "00:00", "06:00")  # 2027-03-16 04:00Z-10:00Z, 2027-03-18 04:00Z-10:00Z
    assert [o.id for o in expand(rule, utc("2027-03-16T10:00:00Z"), utc("2027-03-18T04:00:00Z"))] == []
    assert [o.id for o in expand(rule, utc("2027-03-16T09:59:00Z"), utc("2027-03-18T04:01:00Z"))] == [
        "p.w.20270316",
        "p.w.20270318",
    ]


def test_naive_query_bounds_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        expand(weekly(NY, "tue", "00:00", "06:00"), datetime(2027, 3, 1), datetime(2027, 3, 2))


def test_base_occurrence_id() -> None:
    assert base_occurrence_id("pe", "nightly", date(2027, 3, 16)) == "pe.nightly.20270316"
    assert base_occurrence_id("pe", "c", date(2027, 3, 16), "0630") == "pe.c.20270316T0630"


def test_expanded_occurrences_equal_the_dataclass_constructors() -> None:
    """expand() builds Occurrence objects without their __init__ (for speed): the same fields, in order."""
    from dataclasses import fields

    rules: list[Rule] = [
        weekly(NY, "sun", "00:00", "06:00"),
        weekly(LHI, "sat,sun", "23:30", "02:15"),
        cron(NY, "30 1,2 * * *", timedelta(minutes=45)),
        once(NY, "2027-03-14 02:30", "2027-03-14 05:00"),
    ]
    names = [f.name for f in fields(Occurrence)]
    local = WeeklyRule("p", "l", "local", None, None, None, days=(6,), start=time(1), end=time(3))
    found = [o for r in rules for o in expand(r, datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 11, 30, tzinfo=UTC))]
    found += expand(
        local, datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC), local_tz=SYD, customer="c"
    )
    assert len(found) > 250
    for occurrence in found:
        assert list(vars(occurrence)) == names
        rebuilt = Occurrence(*(getattr(occurrence, name) for name in names))
        assert occurrence == rebuilt and hash(occurrence) == hash(rebuilt) and repr(occurrence) == repr(rebuilt)
