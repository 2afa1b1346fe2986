"""Time zones: resolving names and turning local wall-clock times into UTC instants.

Local times are resolved as RFC 5545 §3.3.5 says (DESIGN §2):

- a local time in a spring-forward gap uses the UTC offset in force *before* the gap;
- a local time that occurs twice (fall-back fold) means its *first* occurrence.

pytz's ``localize()`` gets folds backwards by default and is slow, and pytz's tables end in 2037,
so resolution works directly on a transition table with a binary search: the transitions of the
TZif file pytz ships, continued by the file's POSIX TZ rule through 2199 (:mod:`windows.tzif`), as
``zoneinfo`` reads the same file.

Why one module of ~350 lines: the same resolution is done twice, on ``datetime`` (``to_utc``) and
on whole seconds (``LocalClock``, for expanding many occurrences), over the same transition
tables; kept side by side so the two cannot drift apart.

>>> ny = resolve_zone("America/New_York").zone
>>> to_utc(datetime(2027, 3, 14, 2, 30), ny)   # gap: EST offset before it
datetime.datetime(2027, 3, 14, 7, 30)
>>> to_utc(datetime(2027, 11, 7, 1, 30), ny)   # fold: first (EDT) occurrence
datetime.datetime(2027, 11, 7, 5, 30)
"""

from __future__ import annotations

import difflib
import zoneinfo
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache, lru_cache

import pytz

from windows.errors import InvalidInput
from windows.tzif import offset_changes, tzif_bytes

LOCAL = "local"

# Legacy names and abbreviations people type, with the location zone they usually mean.
_SUGGESTIONS = {
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "EST5EDT": "America/New_York",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "CST6CDT": "America/Chicago",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "MST7MDT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "PST8PDT": "America/Los_Angeles",
    "HST": "Pacific/Honolulu",
    "CET": "Europe/Paris",
    "CEST": "Europe/Paris",
    "MET": "Europe/Brussels",
    "EET": "Europe/Athens",
    "WET": "Europe/Lisbon",
    "BST": "Europe/London",
    "IST": "Asia/Kolkata",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "JST": "Asia/Tokyo",
    # Old country names kept by the tz database as links ("backward" file).
    "CUBA": "America/Havana",
    "EGYPT": "Africa/Cairo",
    "EIRE": "Europe/Dublin",
    "GB": "Europe/London",
    "GB-EIRE": "Europe/London",
    "HONGKONG": "Asia/Hong_Kong",
    "ICELAND": "Atlantic/Reykjavik",
    "IRAN": "Asia/Tehran",
    "ISRAEL": "Asia/Jerusalem",
    "JAMAICA": "America/Jamaica",
    "JAPAN": "Asia/Tokyo",
    "KWAJALEIN": "Pacific/Kwajalein",
    "LIBYA": "Africa/Tripoli",
    "NAVAJO": "America/Denver",
    "NZ": "Pacific/Auckland",
    "NZ-CHAT": "Pacific/Chatham",
    "POLAND": "Europe/Warsaw",
    "PORTUGAL": "Europe/Lisbon",
    "PRC": "Asia/Shanghai",
    "ROC": "Asia/Taipei",
    "ROK": "Asia/Seoul",
    "SINGAPORE": "Asia/Singapore",
    "TURKEY": "Europe/Istanbul",
    "W-SU": "Europe/Moscow",
}
_PLAIN = {"UTC", "GMT", "Etc/UTC", "Etc/GMT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"}
_PLAIN |= {"UCT", "Etc/UCT", "Greenwich", "Etc/Greenwich", "GMT0", "GMT+0", "GMT-0", "Etc/GMT0", "Etc/GMT+0"}
_PLAIN |= {"Etc/GMT-0"}


@dataclass(frozen=True)
class ResolvedZone:
    """A zone accepted from user input, with a warning when the name is a poor choice."""

    name: str
    zone: tzinfo
    warning: str | None = None


def _close_matches(name: str) -> list[str]:
    lowered = {z.lower(): z for z in pytz.all_timezones}
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    # Also match on the city part alone ("london" -> Europe/London).
    city = name.lower().replace(" ", "_")
    for z in pytz.all_timezones:
        if z.lower().rsplit("/", 1)[-1] == city and z.lower() not in matches:
            matches.insert(0, z.lower())
    return [lowered[m] for m in matches[:3]]


def resolve_zone(name: str) -> ResolvedZone:
    """Resolve an IANA zone name (case-insensitive), warning about abbreviation zones.

    >>> resolve_zone("europe/london").name
    'Europe/London'
    >>> resolve_zone("EST").warning is not None
    True
    """
    if not name or name == LOCAL:
        raise InvalidInput("time zone 'local' is only allowed on window rules (it means the customer's zone)")
    try:
        zone = pytz.timezone(name)
    except pytz.UnknownTimeZoneError:
        hint = _SUGGESTIONS.get(name.upper())
        matches = [hint] if hint else _close_matches(name)
        did_you_mean = f"; did you mean {' or '.join(matches)}?" if matches else "; use an IANA name like Europe/London"
        raise InvalidInput(f"unknown time zone '{name}'{did_you_mean}") from None
    canonical = str(zone.zone)
    warning = None
    if canonical not in _PLAIN and (canonical.upper() in _SUGGESTIONS or "/" not in canonical):
        suggestion = _SUGGESTIONS.get(canonical.upper(), "a location zone such as America/New_York")
        if _has_dst_since_1970(zone):
            kind = "a legacy name, not a location zone"
        else:
            offset = _format_offset(offset_at(datetime(2026, 1, 1), zone))
            kind = f"a fixed offset (UTC{offset}) without daylight saving time"
        warning = f"time zone '{canonical}' is {kind}; consider {suggestion}"
    return ResolvedZone(canonical, zone, warning)


def _has_dst_since_1970(zone: tzinfo) -> bool:
    table = _table(zone)
    recent = [o for t, o in zip(table.transitions, table.offsets, strict=True) if t.year >= 1970]
    return len(set(recent)) > 1


def zone_by_name(name: str) -> tzinfo:
    """The zone for a name already validated (stored data); cached."""
    return _zone(name)


@cache
def display_zone(name: str) -> tzinfo:
    """A ``zoneinfo`` zone read from the same TZif file as pytz's, for showing local times to people.

    Unlike pytz's own tables it follows the zone's rule after 2037 and knows the abbreviation
    (``EDT``); its offsets agree with :func:`to_utc` and :func:`offset_at` at every instant.

    >>> from datetime import UTC
    >>> datetime(2040, 7, 3, 4, tzinfo=UTC).astimezone(display_zone("America/New_York")).strftime("%H:%M %Z")
    '00:00 EDT'
    """
    with pytz.open_resource(name) as source:  # type: ignore[attr-defined]
        return zoneinfo.ZoneInfo.from_file(source, key=name)


@cache
def _zone(name: str) -> tzinfo:
    return pytz.timezone(name)


def _format_offset(offset: timedelta | None) -> str:
    seconds = int((offset or timedelta(0)).total_seconds())
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


EPOCH = datetime(1970, 1, 1)
EPOCH_ORDINAL = EPOCH.toordinal()
_FAR = 2**62


@dataclass(frozen=True)
class _Table:
    transitions: list[datetime]  # naive UTC instants, ascending; first is datetime.min
    offsets: list[timedelta]  # offset in force from transitions[i]


@cache
def _changes(zone: tzinfo) -> tuple[list[int], list[int]]:
    """UTC seconds each offset starts at (the first is -_FAR) and the offsets, through 2199.

    Read from the TZif file pytz ships for the zone (its transitions, then its POSIX TZ rule), not from
    pytz's own tables, which end in 2037 and round offsets to minutes (:mod:`windows.tzif`).
    """
    name = getattr(zone, "zone", None)
    if isinstance(name, str):
        before, changes = offset_changes(tzif_bytes(name))
        return [-_FAR] + [at for at, _ in changes], [before] + [offset for _, offset in changes]
    offset = zone.utcoffset(datetime(2000, 1, 1)) or timedelta(0)  # a fixed-offset tzinfo
    return [-_FAR], [int(offset.total_seconds())]


@cache
def _table(zone: tzinfo) -> _Table:
    starts, offsets = _changes(zone)
    transitions = [datetime.min] + [EPOCH + timedelta(seconds=at) for at in starts[1:]]
    return _Table(transitions, [timedelta(seconds=offset) for offset in offsets])


# -- the same resolution on whole seconds, for expanding many occurrences -------------------------


def seconds_of(naive: datetime) -> int:
    """Whole seconds since 1970-01-01 00:00 on the same clock (microseconds are dropped)."""
    return (naive.toordinal() - EPOCH_ORDINAL) * 86400 + naive.hour * 3600 + naive.minute * 60 + naive.second


@dataclass(frozen=True)
class _SecondsTable:
    starts: list[int]  # UTC seconds each offset starts at; the first is -_FAR
    ends: list[int]  # starts[i + 1]; the last is _FAR
    offsets: list[int]  # offset in seconds from starts[i] to ends[i]
    clean_lo: list[int]  # local seconds [clean_lo[i], clean_hi[i]) that exist once, in period i only
    clean_hi: list[int]


@cache
def _seconds_table(zone: tzinfo) -> _SecondsTable:
    starts, offsets = _changes(zone)
    n = len(starts)
    ends = [*starts[1:], _FAR]
    # Period i covers local [starts[i] + offsets[i], ends[i] + offsets[i]); its clean part is what no
    # other period covers: after every earlier period's local end, before every later one's local start.
    clean_lo, clean_hi = [0] * n, [0] * n
    latest_end = -_FAR
    for i in range(n):
        clean_lo[i] = max(starts[i] + offsets[i], latest_end)
        latest_end = max(latest_end, ends[i] + offsets[i])
    earliest_start = _FAR
    for i in reversed(range(n)):
        clean_hi[i] = max(clean_lo[i], min(ends[i] + offsets[i], earliest_start))
        earliest_start = min(earliest_start, starts[i] + offsets[i])
    return _SecondsTable(starts, ends, offsets, clean_lo, clean_hi)


class LocalClock:
    """Resolves local wall-clock seconds of one zone to UTC seconds, like :func:`to_utc`.

    Fast for times that exist exactly once (a remembered period, else a binary search); times in a
    gap or a fold go through :func:`to_utc`.

    >>> ny = LocalClock(resolve_zone("America/New_York").zone)
    >>> ny.utc(seconds_of(datetime(2027, 3, 14, 2, 30))) == seconds_of(datetime(2027, 3, 14, 7, 30))
    True
    >>> ny.offset(seconds_of(datetime(2027, 3, 14, 7, 30)))
    -14400
    """

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._table = _seconds_table(zone)
        self._period = self._offset_period = 0

    def utc(self, local: int) -> int:
        table, i = self._table, self._period
        if not table.clean_lo[i] <= local < table.clean_hi[i]:
            i = bisect_right(table.clean_lo, local) - 1
            if not table.clean_lo[i] <= local < table.clean_hi[i]:
                return seconds_of(to_utc(EPOCH + timedelta(seconds=local), self.zone))
            self._period = i
        return local - table.offsets[i]

    def resolve_all(self, locals_: list[int]) -> tuple[list[int], list[int]]:
        """:meth:`utc` of each local time, and the offset in force at each resulting UTC instant.

        The same answers as ``[self.utc(t)]`` and ``[self.offset(self.utc(t))]``, in one pass: a time
        that exists once resolves with its period's offset, which is then the offset at the instant.
        """
        table = self._table
        clean_lo, clean_hi, offsets = table.clean_lo, table.clean_hi, table.offsets
        i = self._period
        lo, hi, offset = clean_lo[i], clean_hi[i], offsets[i]
        utcs: list[int] = []
        offs: list[int] = []
        for local in locals_:
            if not lo <= local < hi:
                j = bisect_right(clean_lo, local) - 1
                if not clean_lo[j] <= local < clean_hi[j]:  # in a gap or a fold
                    utc = seconds_of(to_utc(EPOCH + timedelta(seconds=local), self.zone))
                    utcs.append(utc)
                    offs.append(self.offset(utc))
                    continue
                i, lo, hi, offset = j, clean_lo[j], clean_hi[j], offsets[j]
            utcs.append(local - offset)
            offs.append(offset)
        self._period = i
        return utcs, offs

    def offset(self, utc: int) -> int:
        """The zone's UTC offset, in seconds, at UTC seconds ``utc``."""
        table, i = self._table, self._offset_period
        if not table.starts[i] <= utc < table.ends[i]:
            i = self._offset_period = bisect_right(table.starts, utc) - 1
        return table.offsets[i]


def to_utc(local: datetime, zone: tzinfo) -> datetime:
    """Resolve a naive local wall-clock time in ``zone`` to a naive UTC datetime.

    Gap: the offset before the gap. Fold: the first occurrence (the earlier instant).

    >>> lh = resolve_zone("Australia/Lord_Howe").zone   # 30-minute DST shift
    >>> to_utc(datetime(2027, 10, 3, 2, 15), lh)       # in the 02:00-02:30 gap, +10:30 before
    datetime.datetime(2027, 10, 2, 15, 45)
    """
    table = _table(zone)
    transitions, offsets = table.transitions, table.offsets
    i = bisect_right(transitions, local) - 1
    candidates = []
    for j in (i - 1, i, i + 1):
        if j < 0 or j >= len(offsets):
            continue
        utc = local - offsets[j]
        if transitions[j] <= utc and (j + 1 == len(transitions) or utc < transitions[j + 1]):
            candidates.append(utc)
    if candidates:
        return min(candidates)
    # In a gap: find the transition whose skipped local interval holds the time.
    for j in (i, i + 1, i - 1, i + 2):
        if 1 <= j < len(offsets):
            before, after = offsets[j - 1], offsets[j]
            if transitions[j] + before <= local < transitions[j] + after:
                return local - before
    raise AssertionError(f"cannot resolve {local} in {zone}")  # pragma: no cover


def offset_at(utc: datetime, zone: tzinfo) -> timedelta:
    """The UTC offset of ``zone`` at a naive UTC instant."""
    table = _table(zone)
    return table.offsets[bisect_right(table.transitions, utc) - 1]


@lru_cache(maxsize=256)
def fixed_zone(offset: timedelta) -> timezone:
    return timezone(offset)


@lru_cache(maxsize=256)
def fixed_zone_seconds(offset: int) -> timezone:
    """The same object as ``fixed_zone(timedelta(seconds=offset))``."""
    return fixed_zone(timedelta(seconds=offset))


def to_local(utc: datetime, zone: tzinfo) -> datetime:
    """An aware local datetime with a fixed offset, for a naive or aware UTC instant."""
    naive = utc.replace(tzinfo=None) if utc.tzinfo is None else utc.astimezone(UTC).replace(tzinfo=None)
    offset = offset_at(naive, zone)
    return (naive + offset).replace(tzinfo=fixed_zone(offset))


def aware_utc(naive_utc: datetime) -> datetime:
    return naive_utc.replace(tzinfo=UTC)


def format_utc(instant: datetime) -> str:
    """``2027-03-16T04:00:00Z`` for an aware or naive-UTC datetime."""
    if instant.tzinfo is not None:
        instant = instant.astimezone(UTC).replace(tzinfo=None)
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_local(local: datetime) -> str:
    """``2027-03-16T00:00:00-04:00`` for an aware local datetime."""
    return local.isoformat(timespec="seconds")
