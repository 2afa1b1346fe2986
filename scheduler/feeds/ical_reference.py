"""The feed calendar through icalendar's object model: the reference ``ical.render_calendar`` is
tested against byte for byte (and the baseline of ``benchmarks/feeds.py``).

``build_calendar`` works around the icalendar 7.3 pitfalls of DESIGN §8 (NAME / X-WR-CALNAME /
X-WR-CALDESC written unescaped, REFRESH-INTERVAL without ``VALUE=DURATION``, X-PUBLISHED-TTL needing
``vDuration``, ``Event.new`` defaulting UID and DTSTAMP, and ``\\N`` in text turned into a line break).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from icalendar import Calendar, Event, vCalAddress, vCategory, vDuration, vText
from icalendar.enums import TRANSP

from scheduler.feeds.ical import (
    PRODID,
    REFRESH,
    CalendarInfo,
    FeedEvent,
    categories,
    check_method,
    description,
    escape_text,
    organizer,
    status,
    summary,
)
from scheduler.settings import Settings


class _Text(vText):
    """vText with RFC 5545 escaping: icalendar 7.3 first turns a literal ``\\N`` into a line break."""

    def to_ical(self) -> bytes:
        return escape_text(str(self)).encode()


def build_event(event: FeedEvent, *, settings: Settings) -> Event:
    """The VEVENT as an ``icalendar.Event`` (UID and DTSTAMP always given: never uuid4 or now)."""
    item = event.item
    stamp = event.modified.astimezone(UTC).replace(microsecond=0)
    vevent = Event.new(
        uid=f"{item.id}@{settings.uid_domain}",
        stamp=stamp,
        start=item.start.astimezone(UTC),
        end=item.end.astimezone(UTC),
        sequence=item.sequence,
        last_modified=stamp,
        transparency=TRANSP.TRANSPARENT,
    )
    vevent["SUMMARY"] = _Text(summary(event))
    vevent["DESCRIPTION"] = _Text(description(event))
    vevent["UID"] = _Text(f"{item.id}@{settings.uid_domain}")
    cats = vCategory(categories(event))
    cats.cats = [_Text(c) for c in categories(event)]  # vCategory re-wraps its items in plain vText
    vevent["CATEGORIES"] = cats
    vevent["STATUS"] = vText(status(item))
    if event.url:
        vevent.add("URL", event.url)
    vevent.add("ORGANIZER", vCalAddress(organizer(settings)))
    return vevent


def build_calendar(events: Sequence[FeedEvent], info: CalendarInfo, *, settings: Settings) -> Calendar:
    """The calendar as an ``icalendar.Calendar``, with the DESIGN §8 workarounds applied."""
    check_method(info)
    calendar = Calendar.new(prodid=PRODID, method=info.method, calscale="GREGORIAN")
    # Calendar.new(name=..., description=...) writes NAME, X-WR-CALNAME and X-WR-CALDESC unescaped.
    for key, value in (
        ("DESCRIPTION", info.description),
        ("X-WR-CALDESC", info.description),
        ("NAME", info.name),
        ("X-WR-CALNAME", info.name),
        ("UID", info.uid),
    ):
        calendar[key] = _Text(value)
    refresh: Any = vDuration(REFRESH)
    refresh.params["VALUE"] = "DURATION"  # icalendar 7.3 leaves the parameter out
    calendar["REFRESH-INTERVAL"] = refresh
    calendar["X-PUBLISHED-TTL"] = vDuration(REFRESH)
    for event in events:
        calendar.add_component(build_event(event, settings=settings))
    return calendar
