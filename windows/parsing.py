"""Parsing the value formats of DESIGN §5: durations, days, times of day, dates and instants.

>>> parse_duration("1h30m")
datetime.timedelta(seconds=5400)
>>> parse_days("tue-thu,sun")
(1, 2, 3, 6)
>>> format_days((1, 3))
'tue,thu'
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from windows.errors import InvalidInput

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DURATION = timedelta(days=3650)  # beyond any sensible window; keeps datetime arithmetic in range
# The accepted range of dates and instants (README: "between 1970 and 2199"). Anything outside is
# refused where it is parsed, so no arithmetic further in ever leaves datetime's range.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2199, 12, 31)
FIRST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
END_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_duration(text: str) -> timedelta:
    """``90m``, ``2h``, ``1h30m``, ``7d`` -> timedelta. Refuses zero and garbage."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or not match:
        raise InvalidInput(f"invalid duration '{text}': use forms like 90m, 2h, 1h30m, 7d")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    try:
        duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        duration = MAX_DURATION + MAX_DURATION
    if duration > MAX_DURATION:
        raise InvalidInput(f"invalid duration '{text}': at most {MAX_DURATION.days}d")
    if duration <= timedelta(0):
        raise InvalidInput(f"invalid duration '{text}': must be longer than zero")
    return duration


def format_duration(duration: timedelta) -> str:
    """The inverse of parse_duration: ``timedelta(hours=1, minutes=30)`` -> ``1h30m``."""
    seconds = int(duration.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0m"


def parse_days(text: str) -> tuple[int, ...]:
    """``mon,tue`` or ranges ``tue-thu`` (wrapping ``fri-mon`` allowed) -> sorted weekday numbers."""
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        ends = [_day_number(e.strip()) for e in part.split("-")]
        if len(ends) > 2 or None in ends:
            raise InvalidInput(f"invalid days '{text}': use mon,tue,... or ranges like tue-thu")
        first, last = ends[0], ends[-1]
        assert first is not None and last is not None
        day = first
        days.add(day)
        while day != last:
            day = (day + 1) % 7
            days.add(day)
    if not days:
        raise InvalidInput("no days given: use --days like tue,thu or tue-thu")
    return tuple(sorted(days))


def _day_number(name: str) -> int | None:
    """``tue``, ``tues``, ``tuesday`` -> 1; anything else (``tu``, ``month``) -> None."""
    if len(name) < 3:
        return None
    return next((n for n, full in enumerate(_FULL_DAY_NAMES) if full.startswith(name)), None)


def format_days(days: tuple[int, ...] | list[int]) -> str:
    return ",".join(DAY_NAMES[d] for d in sorted(days))


def parse_time_of_day(text: str) -> time:
    """``HH:MM`` from 00:00 to 23:59. ``24:00`` is refused with advice."""
    match = _TIME.match(text.strip())
    if not match:
        raise InvalidInput(f"invalid time '{text}': use HH:MM, e.g. 22:00")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24 and minute == 0:
        raise InvalidInput("invalid time '24:00': use 00:00 (a window ending at midnight ends at 00:00)")
    if hour > 23 or minute > 59:
        raise InvalidInput(f"invalid time '{text}': hours 00-23, minutes 00-59")
    return time(hour, minute)


def format_time_of_day(value: time) -> str:
    return value.strftime("%H:%M")


def check_date(value: date, what: str = "date") -> date:
    """Refuse a date outside 1970-01-01..2199-12-31, the range maintcal accepts.

    >>> check_date(date(2199, 12, 31))
    datetime.date(2199, 12, 31)
    >>> check_date(date(1969, 12, 31), "--from")
    Traceback (most recent call last):
    ...
    windows.errors.InvalidInput: --from 1969-12-31 is outside the accepted range 1970-01-01 to 2199-12-31
    """
    if not FIRST_DAY <= value <= LAST_DAY:
        raise InvalidInput(f"{what} {value.year:04d}-{value.month:02d}-{value.day:02d} is outside {_RANGE}")
    return value


def check_instant(value: datetime, what: str = "instant") -> datetime:
    """Refuse an aware instant before 1970-01-01T00:00:00Z or from 2200-01-01T00:00:00Z on."""
    if not FIRST_INSTANT <= value < END_INSTANT:
        raise InvalidInput(f"{what} {_iso(value)} is outside {_RANGE}")
    return value


_RANGE = f"the accepted range {FIRST_DAY} to {LAST_DAY}"


def _iso(value: datetime) -> str:
    """ISO text that also works for years below 1000 (``0001-01-01T00:00:00Z``)."""
    offset = "Z" if value.utcoffset() == timedelta(0) else value.strftime("%z")
    return f"{value.year:04d}-{value:%m-%dT%H:%M:%S}{offset}"


def parse_date(text: str, what: str = "date") -> date:
    """``YYYY-MM-DD`` between 1970-01-01 and 2199-12-31."""
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"invalid date '{text}': use YYYY-MM-DD") from None
    return check_date(value, what)


def parse_local_datetime(text: str) -> datetime:
    """A local wall-clock datetime without offset: ``2027-03-16T22:00``."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"invalid local time '{text}': use YYYY-MM-DDTHH:MM") from None
    if value.tzinfo is not None:
        raise InvalidInput(f"invalid local time '{text}': give a wall-clock time without offset; the zone is --tz")
    if value.microsecond:
        raise InvalidInput(f"invalid local time '{text}': use whole seconds at most, e.g. 2027-03-16T22:00")
    check_date(value.date(), f"local time '{text}': date")
    return value


def parse_instant(text: str, now: datetime | None = None) -> datetime:
    """ISO 8601 with offset or ``Z``, or ``now`` -> aware UTC datetime."""
    cleaned = text.strip()
    if cleaned.lower() == "now":
        if now is None:
            raise InvalidInput("'now' is not allowed here")
        return now.astimezone(UTC)
    try:
        value = datetime.fromisoformat(cleaned.replace("z", "Z"))
    except ValueError:
        raise InvalidInput(f"invalid instant '{text}': use ISO 8601 with offset, e.g. 2027-03-16T04:00:00Z") from None
    if value.tzinfo is None:
        raise InvalidInput(f"instant '{text}' has no offset: add Z or +HH:MM")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC instant datetime can hold
        raise InvalidInput(f"instant '{text}' is outside {_RANGE}") from None
    if not FIRST_INSTANT <= utc < END_INSTANT:
        raise InvalidInput(f"instant '{text}' is outside {_RANGE}")
    return utc


def check_slug(value: str, what: str) -> str:
    """Keys and rule names: ``[a-z0-9][a-z0-9-]*``, at most 64 characters (the database column)."""
    if not _SLUG.fullmatch(value):
        raise InvalidInput(f"invalid {what} '{value}': use lowercase letters, digits and '-' (e.g. premier-edition)")
    if len(value) > 64:
        raise InvalidInput(f"invalid {what} '{value[:20]}...': at most 64 characters")
    return value
