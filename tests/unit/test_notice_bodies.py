"""notifications.bodies writes exactly what the Jinja templates render, for every kind and content."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from notifications import bodies
from notifications.content import KINDS, Entry, Notice
from notifications.message import context, render_templates

CREATED = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
NAMES = ["Acme Corp", "Société Générale", "Tom & Jerry <\"Cats\"> 'n' Co", "株式会社", "  spaced\r\nname  "]
NOTES = [None, "", "bring coffee", "a <b>bold</b> & 'quoted' \"note\"\non two lines"]
PORTALS = [None, "", "https://maintcal.example.com/portal/", 'https://x.example/?a=1&b="2"']


def entry(day: int, name: str, zone: str, status: str = "scheduled", kind: str = "planned") -> Entry:
    oid = f"pe.nightly.202703{day:02d}"
    start = datetime(2027, 3, day, 4, 0, tzinfo=UTC)
    return Entry(f"{oid}@m.example", oid, "pe", name, start, start + timedelta(minutes=90 * day), zone, 0, status, kind)


def check(notice: Notice) -> None:
    values = context(notice)
    assert (bodies.text(values), bodies.html(values)) == render_templates(values)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NAMES)
def test_every_kind_and_name(kind: str, name: str) -> None:
    for count in (1, 2, 5):
        entries = tuple(entry(d, f"{name} product", "Europe/London") for d in range(1, count + 1))
        check(Notice(kind, "acme", name, "Europe/London", entries, CREATED, None, None))


@pytest.mark.parametrize("note", NOTES)
@pytest.mark.parametrize("portal", PORTALS)
def test_notes_portals_statuses(note: str | None, portal: str | None) -> None:
    entries = (
        entry(1, "Premier", "Asia/Kolkata", "cancelled"),
        entry(2, "Premier <Edition>", "Asia/Kolkata", "moved", "unplanned"),
        entry(3, "Premier", "Asia/Kolkata", "cancelled", "unplanned"),
        entry(4, "Premier", "Asia/Kolkata"),
    )
    for kind in ("announce", "cancel", "reminder"):
        check(Notice(kind, "acme", "Acme & Co", "Asia/Kolkata", entries, CREATED, note, portal))


def test_random_notices() -> None:
    rng = random.Random(11)
    alphabet = "aZ09 &<>\"'{}%\n\té株"
    for _ in range(200):
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
        check(Notice(rng.choice(KINDS), "c", name, zone, entries, CREATED, note, rng.choice(PORTALS)))
