"""POSIX TZ rules: the footer of a TZif file, which gives a zone's offsets after its last transition.

A TZif file (RFC 8536) lists a zone's transitions up to some year (2037 in pytz's files) and ends
with a POSIX TZ string (POSIX.1-2017 §8.3, with the RFC 8536 §3.3.1 extensions) that says what
happens every year after that: ``EST5EDT,M3.2.0,M11.1.0`` is UTC-5 ("EST"), and UTC-4 ("EDT") from
02:00 local standard time on the second Sunday of March to 02:00 local daylight time on the first
Sunday of November.

Offsets here are seconds *east* of UTC (New York's standard time is -18000), the opposite of the
sign written in the string.

>>> rule = parse_posix_tz("EST5EDT,M3.2.0,M11.1.0")
>>> (rule.std_offset, rule.dst_offset)
(-18000, -14400)
>>> [(datetime(1970, 1, 1) + timedelta(seconds=t), o) for t, o in rule.transitions(2040, 2040)]
[(datetime.datetime(2040, 3, 11, 7, 0), -14400), (datetime.datetime(2040, 11, 4, 6, 0), -18000)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_NAME = r"(?:[A-Za-z]{3,}|<[A-Za-z0-9+-]{3,}>)"
_OFFSET = r"[+-]?\d{1,2}(?::\d{2}(?::\d{2})?)?"
_HEAD = re.compile(rf"(?P<std>{_NAME})(?P<stdoff>{_OFFSET})(?:(?P<dst>{_NAME})(?P<dstoff>{_OFFSET})?)?", re.ASCII)
_CLOCK = re.compile(r"(?P<sign>[+-])?(?P<h>\d{1,3})(?::(?P<m>\d{2})(?::(?P<s>\d{2}))?)?", re.ASCII)
_MONTH_RULE = re.compile(r"M(?P<m>\d{1,2})\.(?P<w>\d)\.(?P<d>\d)", re.ASCII)
_DAY_RULE = re.compile(r"(?P<julian>J)?(?P<n>\d{1,3})", re.ASCII)
_CUMULATIVE_DAYS = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


@dataclass(frozen=True)
class RuleDate:
    """When in a year a change happens: ``Mm.w.d``, ``Jn`` or ``n``, and a local time of day.

    ``kind`` is ``"M"`` (week ``week`` (5 = last) of month ``month``, weekday ``day`` with
    0 = Sunday), ``"J"`` (day ``day`` of 1-365, February 29 never counted) or ``"n"`` (zero-based
    day ``day`` of 0-365, February 29 counted). ``seconds`` is the local time of day; it may be
    negative or past 24 h (-167 h to 167 h, RFC 8536).
    """

    kind: str
    day: int
    month: int = 0
    week: int = 0
    seconds: int = 7200

    def local_seconds(self, year: int) -> int:
        """Seconds since 1970-01-01 00:00 on the local clock the rule is written in, in ``year``.

        >>> def on(text: str, year: int) -> datetime:
        ...     return datetime(1970, 1, 1) + timedelta(seconds=_parse_date(text).local_seconds(year))
        >>> on("M3.5.0/1", 2044), on("J60/0", 2044), on("59/0", 2044), on("M9.1.6/24", 2045)
        (datetime.datetime(2044, 3, 27, 1, 0), datetime.datetime(2044, 3, 1, 0, 0), \
datetime.datetime(2044, 2, 29, 0, 0), datetime.datetime(2045, 9, 3, 0, 0))
        """
        first = date(year, 1, 1).toordinal()
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        if self.kind == "M":
            month_start = first + _CUMULATIVE_DAYS[self.month - 1] + (leap and self.month > 2)
            weekday_of_first = month_start % 7  # date.toordinal() % 7: 0 = Sunday, as in POSIX
            day = month_start + (self.day - weekday_of_first) % 7 + (self.week - 1) * 7
            next_month = first + 365 + leap if self.month == 12 else first + _CUMULATIVE_DAYS[self.month] + leap
            if day >= next_month:  # week 5 means the last such weekday of the month
                day -= 7
        elif self.kind == "J":
            day = first + self.day - 1 + (leap and self.day >= 60)
        else:
            day = first + self.day
        return (day - _EPOCH_ORDINAL) * 86400 + self.seconds


@dataclass(frozen=True)
class PosixRule:
    """A parsed POSIX TZ string: standard time, and optionally daylight time with its yearly dates."""

    std_name: str
    std_offset: int  # seconds east of UTC
    dst_name: str | None = None
    dst_offset: int | None = None
    start: RuleDate | None = None  # into daylight time, on the standard-time clock
    end: RuleDate | None = None  # back to standard time, on the daylight-time clock

    def transitions(self, first_year: int, last_year: int) -> list[tuple[int, int]]:
        """(UTC seconds since 1970, offset from then on) of every change from ``first_year`` to ``last_year``.

        Each year's two changes are sorted by time, so the southern hemisphere (daylight time from
        October to April) needs nothing special; changes that cancel out (daylight time all year,
        ``EST5EDT,0/0,J365/25``) are dropped.

        >>> dublin = parse_posix_tz("IST-1GMT0,M10.5.0,M3.5.0/1")   # negative DST: GMT in winter
        >>> [(datetime(1970, 1, 1) + timedelta(seconds=t), o) for t, o in dublin.transitions(2045, 2045)]
        [(datetime.datetime(2045, 3, 26, 1, 0), 3600), (datetime.datetime(2045, 10, 29, 1, 0), 0)]
        >>> parse_posix_tz("<+0545>-5:45").transitions(2040, 2199)
        []
        """
        if self.start is None or self.end is None or self.dst_offset is None:
            return []
        changes: list[tuple[int, int, int]] = []  # (UTC seconds, 0 = back to standard / 1 = into DST, offset)
        for year in range(first_year, last_year + 1):
            changes.append((self.start.local_seconds(year) - self.std_offset, 1, self.dst_offset))
            changes.append((self.end.local_seconds(year) - self.dst_offset, 0, self.std_offset))
        changes.sort()
        result: list[tuple[int, int]] = []
        for at, _, offset in changes:
            if result and result[-1][0] == at:
                result.pop()  # two changes at one instant: the later one (into DST) wins
            result.append((at, offset))
        deduplicated: list[tuple[int, int]] = []
        for at, offset in result:
            if not deduplicated or deduplicated[-1][1] != offset:
                deduplicated.append((at, offset))
        return deduplicated

    def offset_at(self, utc: int) -> int:
        """The offset at UTC seconds ``utc`` (the rule alone, as if it applied in every year).

        >>> ny = parse_posix_tz("EST5EDT,M3.2.0,M11.1.0")
        >>> ny.offset_at(int((datetime(2150, 7, 1) - datetime(1970, 1, 1)).total_seconds()))
        -14400
        """
        year = (datetime(1970, 1, 1) + timedelta(seconds=utc)).year
        offset = self.std_offset
        for at, new in self.transitions(year - 2, year + 1):
            if at <= utc:
                offset = new
        return offset


def _parse_clock(text: str, limit: int, what: str, tz: str) -> int:
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid {what} '{text}' in TZ string '{tz}'")
    hours, minutes, seconds = (int(match.group(g) or 0) for g in ("h", "m", "s"))
    if hours > limit or minutes > 59 or seconds > 59:
        raise ValueError(f"{what} '{text}' out of range in TZ string '{tz}'")
    total = hours * 3600 + minutes * 60 + seconds
    return -total if match.group("sign") == "-" else total


def _parse_date(text: str, tz: str = "") -> RuleDate:
    spec, _, clock = text.partition("/")
    seconds = _parse_clock(clock, 167, "time", tz or text) if clock else 7200
    if match := _MONTH_RULE.fullmatch(spec):
        month, week, day = (int(match.group(g)) for g in ("m", "w", "d"))
        if not (1 <= month <= 12 and 1 <= week <= 5 and 0 <= day <= 6):
            raise ValueError(f"invalid date '{spec}' in TZ string '{tz or text}'")
        return RuleDate("M", day, month, week, seconds)
    if match := _DAY_RULE.fullmatch(spec):
        julian, day = bool(match.group("julian")), int(match.group("n"))
        if not (1 if julian else 0) <= day <= 365:
            raise ValueError(f"invalid day '{spec}' in TZ string '{tz or text}'")
        return RuleDate("J" if julian else "n", day, seconds=seconds)
    raise ValueError(f"invalid date '{spec}' in TZ string '{tz or text}'")


def parse_posix_tz(text: str) -> PosixRule:
    """Parse a POSIX TZ string as found at the end of a TZif file (``std offset [dst [offset] ,start,end]``).

    >>> parse_posix_tz("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0")
    PosixRule(std_name='+1030', std_offset=37800, dst_name='+11', dst_offset=39600, \
start=RuleDate(kind='M', day=0, month=10, week=1, seconds=7200), \
end=RuleDate(kind='M', day=0, month=4, week=1, seconds=7200))
    >>> parse_posix_tz("<-03>3")
    PosixRule(std_name='-03', std_offset=-10800, dst_name=None, dst_offset=None, start=None, end=None)
    >>> parse_posix_tz("EST5EDT")
    Traceback (most recent call last):
    ...
    ValueError: TZ string 'EST5EDT' names daylight time without the dates it starts and ends
    """
    head, _, dates = text.partition(",")
    match = _HEAD.fullmatch(head)
    if match is None:
        raise ValueError(f"invalid TZ string '{text}'")
    std_offset = -_parse_clock(match.group("stdoff"), 24, "offset", text)
    std_name = match.group("std").strip("<>")
    if match.group("dst") is None:
        if dates:
            raise ValueError(f"TZ string '{text}' has dates but no daylight time")
        return PosixRule(std_name, std_offset)
    dst_offset = std_offset + 3600
    if match.group("dstoff"):
        dst_offset = -_parse_clock(match.group("dstoff"), 24, "offset", text)
    parts = dates.split(",") if dates else []
    if len(parts) < 2:
        raise ValueError(f"TZ string '{text}' names daylight time without the dates it starts and ends")
    if len(parts) > 2:
        raise ValueError(f"TZ string '{text}' has {len(parts)} dates; daylight time has a start and an end")
    start, end = (_parse_date(part, text) for part in parts)
    return PosixRule(std_name, std_offset, match.group("dst").strip("<>"), dst_offset, start, end)
