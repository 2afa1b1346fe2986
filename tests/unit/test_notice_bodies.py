"""The bodies of notice emails, byte for byte, against the golden files in tests/golden/notice_bodies/.

``notifications/bodies.py`` is the one source of a notice's wording. Every case below is written to
``<group>.txt`` (the plain-text body) and ``<group>.html`` (the HTML body), one section per case
under a ``=== case ===`` line. After an intended change of wording, regenerate the files and review
the diff, which shows the change in every kind and content it reaches::

    MAINTCAL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_notice_bodies.py -q -p no:cacheprovider
    git diff tests/golden/notice_bodies/
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from markupsafe import escape

from notifications.content import KINDS, Entry, Notice
from notifications.message import Rendered, render
from windows.errors import InvalidInput

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "notice_bodies"
SENDER = "maintcal <maintenance@example.com>"
CREATED = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
NAMES = ["Acme Corp", "Société Générale", "Tom & Jerry <\"Cats\"> 'n' Co", "株式会社", "  spaced\r\nname  "]
NOTES = [None, "", "bring coffee", "a <b>bold</b> & 'quoted' \"note\"\non two lines"]
PORTALS = [None, "", "https://maintcal.example.com/portal/", 'https://x.example/?a=1&b="2"']

Case = tuple[str, Notice]


def entry(day: int, name: str, zone: str, status: str = "scheduled", kind: str = "planned") -> Entry:
    oid = f"pe.nightly.202703{day:02d}"
    start = datetime(2027, 3, day, 4, 0, tzinfo=UTC)
    return Entry(f"{oid}@m.example", oid, "pe", name, start, start + timedelta(minutes=90 * day), zone, 0, status, kind)


def window(oid: str, name: str, zone: str, start: str, end: str, kind: str = "planned") -> Entry:
    """An entry from two UTC instants (``2027-03-28T00:30``)."""
    begin, until = (datetime.fromisoformat(t).replace(tzinfo=UTC) for t in (start, end))
    return Entry(f"{oid}@m.example", oid, "pe", name, begin, until, zone, 0, "scheduled", kind)


# -- the cases, by golden file ---------------------------------------------------------------------------


def kind_cases(kind: str) -> Iterator[Case]:
    """Every customer name (non-ASCII, markup, line breaks) with 1, 2 and 5 windows."""
    for name in NAMES:
        for count in (1, 2, 5):
            entries = tuple(entry(d, f"{name} product", "Europe/London") for d in range(1, count + 1))
            yield f"name={name!r}, {count} windows", Notice(kind, "acme", name, "Europe/London", entries, CREATED)


def notes_portals_statuses() -> Iterator[Case]:
    """Notes and portal links present, empty or absent; cancelled, moved and unplanned entries."""
    entries = (
        entry(1, "Premier", "Asia/Kolkata", "cancelled"),
        entry(2, "Premier <Edition>", "Asia/Kolkata", "moved", "unplanned"),
        entry(3, "Premier", "Asia/Kolkata", "cancelled", "unplanned"),
        entry(4, "Premier", "Asia/Kolkata"),
    )
    for portal in PORTALS:
        for note in NOTES:
            for kind in ("announce", "cancel", "reminder"):
                label = f"{kind}, portal={portal!r}, note={note!r}"
                yield label, Notice(kind, "acme", "Acme & Co", "Asia/Kolkata", entries, CREATED, note, portal)


DST_NIGHTS = {
    # zone: (night the clocks go forward, night they go back), each a window across the change in UTC
    "Europe/London": (("2027-03-28T00:30", "2027-03-28T02:30"), ("2027-10-31T00:30", "2027-10-31T01:30")),
    "America/New_York": (("2027-03-14T06:30", "2027-03-14T08:00"), ("2027-11-07T05:30", "2027-11-07T06:30")),
    "Australia/Sydney": (("2027-10-02T15:30", "2027-10-02T16:30"), ("2027-04-03T15:30", "2027-04-03T16:30")),
    "Australia/Lord_Howe": (("2027-10-02T15:00", "2027-10-02T16:00"), ("2027-04-03T14:30", "2027-04-03T15:30")),
}


def dst_nights() -> Iterator[Case]:
    """Windows across the change of offset (both directions) in four zones, a half-hour one included."""
    for zone, nights in DST_NIGHTS.items():
        entries = tuple(
            window(f"pe.dst.{n}", "Premier Edition", zone, start, end) for n, (start, end) in enumerate(nights)
        )
        yield f"announce, {zone}", Notice("announce", "acme", "Acme Corp", zone, entries, CREATED)
        for kind in ("update", "reminder", "started", "finished"):
            for night, one in zip(("forward", "back"), entries, strict=True):
                yield f"{kind}, {zone}, clocks {night}", Notice(kind, "acme", "Acme Corp", zone, (one,), CREATED)


def unplanned() -> Iterator[Case]:
    """Unplanned maintenance declared, extended and ended (the notes ``state_note`` writes), then its
    started and finished notices."""
    one = (
        window(
            "pe.unplanned.4", "Premier Edition", "America/New_York", "2027-03-14T06:00", "2027-03-14T09:30", "unplanned"
        ),
    )
    notes = {
        "declared": "In progress since 2027-03-14T06:00:00Z; expected to end at 2027-03-14T08:00:00Z (2 h in all). "
        "Reason: disk failure",
        "extended": "Extended until 2027-03-14T09:30:00Z. In progress since 2027-03-14T06:00:00Z; expected to end at "
        "2027-03-14T09:30:00Z (3 h 30 min in all). Reason: disk failure",
        "ended": "Ended at 2027-03-14T09:30:00Z after 3 h 30 min. Reason: disk failure",
    }
    for what, note in notes.items():
        yield (
            f"unplanned {what}",
            Notice("unplanned", "acme", "Société Générale", "America/New_York", one, CREATED, note),
        )
    for kind in ("started", "finished"):
        yield f"{kind}, unplanned", Notice(kind, "acme", "Société Générale", "America/New_York", one, CREATED)


def large() -> Iterator[Case]:
    """A digest of 60 nightly windows (one per night over both March changes) and its cancellation."""
    nights = tuple(
        replace(
            window(
                f"pe.nightly.{n:02d}", "Premier Edition", "America/New_York", "2027-03-01T06:00", "2027-03-01T08:00"
            ),
            start=datetime(2027, 3, 1, 6, tzinfo=UTC) + timedelta(days=n),
            end=datetime(2027, 3, 1, 8, tzinfo=UTC) + timedelta(days=n),
        )
        for n in range(60)
    )
    yield "announce, 60 windows", Notice("announce", "acme", "Acme Corp", "America/New_York", nights, CREATED)
    cancelled = tuple(replace(e, status="cancelled") for e in nights)
    yield "cancel, 60 windows", Notice("cancel", "acme", "Acme Corp", "America/New_York", cancelled, CREATED)


def random_notices() -> Iterator[Case]:
    """200 notices of random kinds and contents (markup, quotes, braces, percent signs, tabs, CJK)."""
    rng = random.Random(11)
    alphabet = "aZ09 &<>\"'{}%\n\té株"
    for number in range(200):
        zone = rng.choice(["UTC", "America/New_York", "Australia/Sydney"])
        entries = tuple(
            replace(
                entry(rng.randint(1, 28), "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))), zone),
                status=rng.choice(["scheduled", "moved", "cancelled"]),
                kind=rng.choice(["planned", "unplanned"]),
            )
            for _ in range(rng.randint(1, 6))
        )
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        note = rng.choice([None, "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))])
        kind = rng.choice(KINDS)
        yield f"random {number}, {kind}", Notice(kind, "c", name, zone, entries, CREATED, note, rng.choice(PORTALS))


GROUPS: dict[str, Callable[[], Iterator[Case]]] = {
    **{f"kind-{kind}": partial(kind_cases, kind) for kind in KINDS},
    "notes-portals-statuses": notes_portals_statuses,
    "dst-nights": dst_nights,
    "unplanned": unplanned,
    "large": large,
    "random": random_notices,
}


# -- the tests -------------------------------------------------------------------------------------------


def bodies(notice: Notice) -> Rendered:
    return render(notice, sender=SENDER, ics=b"")  # the bodies as composing makes them (no .ics needed)


def golden_text(group: str) -> tuple[bytes, bytes]:
    """The contents of ``<group>.txt`` and ``<group>.html``."""
    text, html = [], []
    for label, notice in GROUPS[group]():
        made = bodies(notice)
        text.append(f"=== {label} ===\n{made.text}")
        html.append(f"=== {label} ===\n{made.html}")
    return "".join(text).encode(), "".join(html).encode()


@pytest.mark.parametrize("group", GROUPS)
def test_bodies_match_golden_files(group: str) -> None:
    """Set MAINTCAL_UPDATE_GOLDEN=1 to rewrite the files after an intended change, then review the diff."""
    for path, made in zip((GOLDEN / f"{group}.txt", GOLDEN / f"{group}.html"), golden_text(group), strict=True):
        if os.environ.get("MAINTCAL_UPDATE_GOLDEN") == "1":
            GOLDEN.mkdir(parents=True, exist_ok=True)
            path.write_bytes(made)
        # decoded strictly (no newline translation) for a readable diff: equal text is equal bytes
        assert made.decode() == path.read_bytes().decode(), f"{path.name}: regenerate and review, see the module doc"


def test_no_stale_golden_files() -> None:
    expected = {f"{group}.{ext}" for group in GROUPS for ext in ("txt", "html")}
    assert {p.name for p in GOLDEN.iterdir()} == expected


def test_html_escapes_every_value_and_text_keeps_it() -> None:
    """Independent of the wording: what a customer typed is escaped in HTML and verbatim in text."""
    product, note, portal = "Premier <Edition> & 'Co'", 'a <b>bold</b> & "note"', 'https://x.example/?a=1&b="2"'
    one = (window("pe.x.1", product, "Europe/London", "2027-03-28T00:30", "2027-03-28T02:30"),)
    for kind in KINDS:
        made = bodies(Notice(kind, "acme", 'Tom & Jerry <"Cats">', "Europe/London", one, CREATED, note, portal))
        for value in (product, note, portal, 'Tom & Jerry <"Cats">'):
            assert str(escape(value)) in made.html and value not in made.html
            assert value in made.text


def test_a_notice_lists_at_least_one_window() -> None:
    """No body is ever made for an empty list: the notice itself is refused."""
    with pytest.raises(InvalidInput, match="a notice lists at least one occurrence"):
        Notice("announce", "acme", "Acme Corp", "UTC", (), CREATED)
