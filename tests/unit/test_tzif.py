"""Reading TZif files (RFC 8536) and continuing them with their footer rule.

Hand-built files check the format handling; pytz's own files check the facts maintcal relies on.
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta

import pytest

from windows.tzif import TzifData, offset_changes, read_tzif, tzif_bytes

EPOCH = datetime(1970, 1, 1)


def seconds(text: str) -> int:
    return int((datetime.fromisoformat(text) - EPOCH).total_seconds())


def at(value: int) -> str:
    return f"{EPOCH + timedelta(seconds=value):%Y-%m-%dT%H:%M:%S}"


Types = list[tuple[int, int, int]]  # (utoff, isdst, abbreviation index)


def block(transitions: list[int], indexes: list[int], types: Types, wide: bool) -> bytes:
    names = b"LMT\0STD\0DST\0"
    header = b"TZif" + (b"2" if wide else b"\0") + b"\0" * 15
    header += struct.pack(">6l", 0, 0, 0, len(transitions), len(types), len(names))
    body = struct.pack(f">{len(transitions)}{'q' if wide else 'l'}", *transitions) + bytes(indexes)
    body += b"".join(struct.pack(">lBB", *t) for t in types) + names
    return header + body


def tzif(transitions: list[int], indexes: list[int], types: Types, footer: str | None) -> bytes:
    """A version 2 file (footer given) whose 32-bit block is empty, or a version 1 file (no footer)."""
    if footer is None:
        return block(transitions, indexes, types, wide=False)
    v1 = block([], [], types[:1], wide=False).replace(b"TZif\0", b"TZif2", 1)
    return v1 + block(transitions, indexes, types, wide=True) + b"\n" + footer.encode() + b"\n"


NY_TYPES: Types = [(-17762, 0, 0), (-18000, 0, 4), (-14400, 1, 8)]


def test_version_1_file_without_footer() -> None:
    data = tzif([seconds("2030-03-10T07:00:00"), seconds("2030-11-03T06:00:00")], [2, 1], NY_TYPES, None)
    assert read_tzif(data) == TzifData(
        [seconds("2030-03-10T07:00:00"), seconds("2030-11-03T06:00:00")], [-14400, -18000], -17762, ""
    )
    before, changes = offset_changes(data)
    assert (before, [(at(t), o) for t, o in changes]) == (
        -17762,
        [("2030-03-10T07:00:00", -14400), ("2030-11-03T06:00:00", -18000)],
    )


def test_version_2_data_is_read_with_64_bit_times_and_continued_by_the_footer() -> None:
    transitions = [seconds("2040-03-11T07:00:00"), seconds("2040-11-04T06:00:00")]  # past 2038: 64-bit only
    data = tzif(transitions, [2, 1], NY_TYPES, "EST5EDT,M3.2.0,M11.1.0")
    assert read_tzif(data) == TzifData(transitions, [-14400, -18000], -17762, "EST5EDT,M3.2.0,M11.1.0")
    before, changes = offset_changes(data, last_year=2041)
    assert (before, [(at(t), o) for t, o in changes]) == (
        -17762,
        [
            ("2040-03-11T07:00:00", -14400),
            ("2040-11-04T06:00:00", -18000),
            ("2041-03-10T07:00:00", -14400),  # from the footer rule on
            ("2041-11-03T06:00:00", -18000),
            ("2042-03-09T07:00:00", -14400),  # one year more, for local times late on 2041-12-31
            ("2042-11-02T06:00:00", -18000),
        ],
    )


def test_a_file_without_transitions_uses_its_footer() -> None:
    data = tzif([], [], [(20700, 0, 4)], "<+0545>-5:45")
    assert offset_changes(data) == (20700, [])
    assert offset_changes(tzif([], [], [(-3600, 0, 4)], None)) == (-3600, [])


def test_a_footer_with_a_rule_and_no_transitions_applies_from_the_start() -> None:
    before, changes = offset_changes(tzif([], [], [(-18000, 0, 4)], "EST5EDT,M3.2.0,M11.1.0"), last_year=2040)
    assert before == -18000
    assert [(at(t), o) for t, o in changes][-4:] == [
        ("2040-03-11T07:00:00", -14400),
        ("2040-11-04T06:00:00", -18000),
        ("2041-03-10T07:00:00", -14400),
        ("2041-11-03T06:00:00", -18000),
    ]


def test_a_footer_that_disagrees_with_the_last_transition_applies_one_second_after_it() -> None:
    # zoneinfo uses the footer for every instant strictly after the last transition.
    data = tzif([seconds("2030-01-01T00:00:00")], [1], [(0, 0, 0), (3600, 0, 4)], "<+02>-2")
    assert offset_changes(data) == (0, [(seconds("2030-01-01T00:00:00"), 3600), (seconds("2030-01-01T00:00:01"), 7200)])


def test_offsets_keep_their_seconds() -> None:
    # Liberia used UTC-00:44:30 until 1972-01-07 (pytz's own tables round it to a whole minute).
    _, changes = offset_changes(tzif_bytes("Africa/Monrovia"))
    assert [(at(t), o) for t, o in changes if t >= seconds("1919-06-01T00:00:00")] == [("1972-01-07T00:44:30", 0)]
    assert read_tzif(tzif_bytes("Africa/Monrovia")).offsets[-2:] == [-2670, 0]


def test_pytz_files_carry_their_rule_in_the_footer() -> None:
    assert read_tzif(tzif_bytes("America/New_York")).footer == "EST5EDT,M3.2.0,M11.1.0"
    assert read_tzif(tzif_bytes("Europe/Dublin")).footer == "IST-1GMT0,M10.5.0,M3.5.0/1"
    assert read_tzif(tzif_bytes("America/Argentina/Buenos_Aires")).footer == "<-03>3"


def test_not_a_tzif_file() -> None:
    with pytest.raises(ValueError, match="not a TZif file"):
        read_tzif(b"TZix" + b"\0" * 40)
