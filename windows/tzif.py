"""A zone's UTC offsets from its TZif file (RFC 8536): the listed transitions, then its POSIX TZ rule.

pytz builds its tables from the 32-bit part of each TZif file only, so they stop in 2037 (after which
pytz keeps the last offset forever) and round offsets to whole minutes. Here the 64-bit part of the
*same* file pytz ships is read, with exact offsets, and the footer rule (:mod:`windows.tzrule`)
continues it year by year through :data:`LAST_YEAR`. This is what ``zoneinfo`` does with the file,
so both agree on every instant; only the tz data version is pytz's.

>>> before, changes = offset_changes(tzif_bytes("America/New_York"))
>>> [(datetime(1970, 1, 1) + timedelta(seconds=t), o) for t, o in changes if 2150 <= _year(t) < 2151]
[(datetime.datetime(2150, 3, 8, 7, 0), -14400), (datetime.datetime(2150, 11, 1, 6, 0), -18000)]
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytz

from windows.tzrule import PosixRule, parse_posix_tz

LAST_YEAR = 2199  # the last year of the dates maintcal accepts
_EPOCH = datetime(1970, 1, 1)
_OLDEST = int((datetime(1800, 1, 1) - _EPOCH).total_seconds())  # earlier changes only set the initial offset
_HEADER = struct.Struct(">4sc15x6l")


@dataclass(frozen=True)
class TzifData:
    """What a TZif file says: transitions (UTC seconds) with the offset each starts, and the footer."""

    transitions: list[int]
    offsets: list[int]  # offsets[i] is in force from transitions[i]
    before: int  # the offset before the first transition (zoneinfo: the first standard-time type)
    footer: str  # the POSIX TZ string; "" when the file has none


def tzif_bytes(name: str) -> bytes:
    """The TZif file pytz ships for zone ``name``."""
    with pytz.open_resource(name) as file:  # type: ignore[attr-defined]
        data: bytes = file.read()
    return data


def read_tzif(data: bytes) -> TzifData:
    """Parse a TZif file: the version 2+ (64-bit) data and footer when present, else the version 1 data.

    >>> tz = read_tzif(tzif_bytes("Europe/Dublin"))
    >>> tz.footer, tz.offsets[-2:]
    ('IST-1GMT0,M10.5.0,M3.5.0/1', [3600, 0])
    """
    magic, version, isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = _HEADER.unpack_from(data)
    if magic != b"TZif":
        raise ValueError("not a TZif file")
    position, time_size = _HEADER.size, 4
    if version != b"\0":  # skip the 32-bit block to the 64-bit header and block
        position += timecnt * 5 + typecnt * 6 + charcnt + leapcnt * 8 + isstdcnt + isutcnt
        _, _, isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = _HEADER.unpack_from(data, position)
        position, time_size = position + _HEADER.size, 8
    transitions = list(struct.unpack_from(f">{timecnt}{'q' if time_size == 8 else 'l'}", data, position))
    position += timecnt * time_size
    indexes = data[position : position + timecnt]
    position += timecnt
    types = [struct.unpack_from(">lBB", data, position + 6 * i) for i in range(typecnt)]
    position += typecnt * 6 + charcnt + leapcnt * (time_size + 4) + isstdcnt + isutcnt
    footer = ""
    if version != b"\0":
        footer = data[position:].strip(b"\n").decode("ascii")
    offsets = [types[i][0] for i in indexes]
    standard = [utoff for utoff, isdst, _ in types if not isdst]
    # zoneinfo: before the first transition, the first standard-time type; with no transitions at all,
    # the last type (unless the footer says otherwise).
    before = (standard[0] if standard else offsets[0]) if offsets else types[-1][0]
    return TzifData(transitions, offsets, before, footer)


def _year(utc: int) -> int:
    return (_EPOCH + timedelta(seconds=utc)).year


def offset_changes(data: bytes, last_year: int = LAST_YEAR) -> tuple[int, list[tuple[int, int]]]:
    """The offset before any change, and every change (UTC seconds, new offset) through ``last_year``.

    The file's transitions come first; after the last one the footer rule takes over (``zoneinfo``
    uses it for every instant after the last transition). Changes that keep the offset are left out.
    One more year is included, so that local times late on December 31 of ``last_year`` resolve.

    >>> before, changes = offset_changes(tzif_bytes("Asia/Kolkata"))
    >>> before, [(datetime(1970, 1, 1) + timedelta(seconds=t), o) for t, o in changes if _year(t) >= 1970]
    (21208, [])
    """
    tz = read_tzif(data)
    rule: PosixRule | None = parse_posix_tz(tz.footer) if tz.footer else None
    current = tz.before
    changes: list[tuple[int, int]] = []

    def change(at: int, offset: int) -> None:
        nonlocal current
        if offset == current:
            return
        if at < _OLDEST:
            current = offset
            return
        if changes and changes[-1][0] >= at:
            raise ValueError("TZif transitions are not in order")
        changes.append((at, offset))
        current = offset

    before = current
    for at, offset in zip(tz.transitions, tz.offsets, strict=True):
        change(at, offset)
        if at < _OLDEST:
            before = current
    if rule is not None:
        last = tz.transitions[-1] if tz.transitions else _OLDEST - 1
        first_year = _year(max(last, _OLDEST)) - 1
        if not tz.transitions:
            before = current = rule.offset_at(_OLDEST)
        else:
            change(last + 1, rule.offset_at(last + 1))
        for at, offset in rule.transitions(first_year, last_year + 1):
            if at > last + 1:
                change(at, offset)
    return before, changes
