"""The .ics attachment of a notice (RFC 5545 / iTIP RFC 5546, METHOD PUBLISH or CANCEL).

UIDs and SEQUENCEs are the feed's (``<occurrence id>@<uid domain>``, the occurrence's sequence),
so a calendar that imports the attachment and also subscribes to the feed sees one event, updated
in place. Everything is derived from the notice (DTSTAMP is the notice's creation time), so the
same notice renders to identical bytes.
"""

from __future__ import annotations

from icalendar import Calendar, Event, vText

from notifications.content import CANCEL, Entry, Notice, format_local

PRODID = "-//maintcal//notices//EN"


def description(entry: Entry) -> str:
    """The local window and its zone, in words, for the event's DESCRIPTION."""
    text = (
        f"{entry.product_name} maintenance ({entry.occurrence_id}): "
        f"{format_local(entry.start, entry.zone)} to {format_local(entry.end, entry.zone)}"
    )
    if entry.window_zone != entry.zone:
        text += f"; defined in {entry.window_zone}"
    if entry.kind == "unplanned":
        text += "; unplanned maintenance"
    return text


def build_calendar(notice: Notice, *, organizer: str) -> bytes:
    """The calendar attachment for ``notice``; ``organizer`` is the sender's bare address."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", notice.method)
    for entry in notice.entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("sequence", entry.sequence)
        event.add("dtstamp", notice.stamp)
        event.add("dtstart", entry.start)
        event.add("dtend", entry.end)
        event.add("summary", vText(f"{entry.product_name} maintenance"))
        event.add("description", vText(description(entry)))
        event.add("organizer", f"mailto:{organizer}")
        event.add("status", "CANCELLED" if notice.method == CANCEL else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        event.add("categories", ["Maintenance"])
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical
