"""iCalendar (RFC 5545 / RFC 7986) rendering of occurrences: feeds and notice attachments.

One VEVENT per occurrence with UTC DTSTART/DTEND (no RRULE, no VTIMEZONE), UID
``<occurrence id>@<uid domain>``, SEQUENCE from the occurrence, DTSTAMP and LAST-MODIFIED from the
data (never the clock), so the same data always renders to the same bytes.

``render_calendar`` writes the bytes directly: icalendar's ``to_ical()`` needs about 0.4 ms per
event, too slow for a feed of thousands of events. ``ical_reference.build_calendar`` builds the
same calendar through icalendar's object model; tests assert that both agree byte for byte, and
that icalendar, recurring-ical-events and ical (allenporter) parse the result.

Output: CRLF line endings, lines folded at 75 octets (never inside a UTF-8 character), properties in
icalendar's canonical order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scheduler.settings import Settings
from windows.parsing import format_duration
from windows.schedule import Scheduled
from windows.timezones import to_local, zone_by_name

PRODID = "-//maintcal//maintcal maintenance windows//EN"
METHODS = ("PUBLISH", "CANCEL")
REFRESH = timedelta(hours=1)
_FOLD_LIMIT = 75


@dataclass(frozen=True)
class FeedEvent:
    """One occurrence with what its VEVENT shows beyond the occurrence itself.

    ``modified`` is the last change of the data behind the occurrence (rule, product, customer zone,
    override, unplanned row): it becomes DTSTAMP and LAST-MODIFIED.
    """

    item: Scheduled
    product_name: str
    modified: datetime
    label: str | None = None
    url: str | None = None
    viewer_zone: str | None = None  # a customer's zone: the window is also shown in it
    reason: str | None = None  # what ops gave for the last move or cancel, or for an unplanned window


@dataclass(frozen=True)
class CalendarInfo:
    """Calendar-level properties: a fixed UID, a display name and a description."""

    uid: str
    name: str
    description: str
    method: str = "PUBLISH"


def escape_text(text: str) -> str:
    r"""Escape a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and line breaks.

    >>> print(escape_text('a,b;c\\d\nC:\\Net'))
    a\,b\;c\\d\nC:\\Net
    """
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line so that no physical line exceeds 75 octets (RFC 5545 §3.1).

    Same algorithm as icalendar 7.3: at most 74 octets before the first fold, never splitting a
    UTF-8 character, and an escape character (backslash, caret) is moved to the next line rather
    than left dangling at the end of one.

    >>> fold("X:" + "a" * 80).split("\\r\\n ")[1]
    'aaaaaaaa'
    """
    data = line.encode()
    size = len(data)
    if size < _FOLD_LIMIT:
        return line
    room = _FOLD_LIMIT - 1
    parts: list[str] = []
    begin = 0
    while size - begin > room:
        end = begin + room
        while data[end] & 0xC0 == 0x80:  # never cut a UTF-8 character
            end -= 1
        if data[end - 1] in b"\\^" and end - 1 > begin:
            end -= 1
        parts.append(data[begin:end].decode())
        begin = end
    parts.append(data[begin:].decode())
    return "\r\n ".join(parts)


def ical_utc(instant: datetime) -> str:
    """``20270316T040000Z`` for an aware datetime (seconds precision)."""
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# -- what an event says -------------------------------------------------------------------------


def summary(event: FeedEvent) -> str:
    """Planned and unplanned tell apart in a calendar's list: 'Unplanned maintenance: Premier Edition'."""
    if event.item.kind == "unplanned":
        return f"Unplanned maintenance: {event.product_name}"
    return f"{event.product_name} maintenance"


def organizer(settings: Settings) -> str:
    """The ORGANIZER of every event: the vendor's support address (MAINTCAL_SUPPORT_ADDRESS)."""
    return "mailto:" + "".join(settings.support_address.split())


def categories(event: FeedEvent) -> list[str]:
    """Maintenance, Planned or Unplanned, and the product's name.

    Commas are left out of the values: RFC 5545 escapes them, but some consumers (ical 14) split
    CATEGORIES on every comma, escaped or not.
    """
    kind = "Unplanned" if event.item.kind == "unplanned" else "Planned"
    return ["Maintenance", kind, " ".join(event.product_name.replace(",", " ").split())]


def status(item: Scheduled) -> str:
    return "CANCELLED" if item.status == "cancelled" else "CONFIRMED"


def _offset(local: datetime) -> str:
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def local_window(start: datetime, end: datetime, zone: str) -> str:
    """``Tue 2027-03-16 22:00 to Wed 2027-03-17 05:00 America/New_York (UTC-04:00)``.

    Each end shows its own offset when they differ (a window across a DST change).
    """
    text_start, text_end = f"{start:%a %Y-%m-%d %H:%M}", f"{end:%a %Y-%m-%d %H:%M}"
    if start.utcoffset() == end.utcoffset():
        return f"{text_start} to {text_end} {zone} ({_offset(start)})"
    return f"{text_start} ({_offset(start)}) to {text_end} ({_offset(end)}) {zone}"


def description(event: FeedEvent) -> str:
    """The human text of an event: local window and zone first, then the details."""
    item = event.item
    occ = item.occurrence
    if item.kind == "unplanned":
        lines = [f"Unplanned maintenance of {event.product_name}."]
    elif item.status == "cancelled":
        lines = [f"Cancelled maintenance window of {event.product_name}."]
    else:
        lines = [f"Planned maintenance window of {event.product_name}."]
    lines.append(f"Local time: {local_window(item.local_start, item.local_end, item.timezone)}")
    if event.viewer_zone and event.viewer_zone != item.timezone:
        zone = zone_by_name(event.viewer_zone)
        viewer = local_window(to_local(item.start, zone), to_local(item.end, zone), event.viewer_zone)
        lines.append(f"Your time: {viewer}")
    lines.append(f"UTC: {item.start:%Y-%m-%d %H:%M} to {item.end:%Y-%m-%d %H:%M}")
    lines.append(f"Duration: {format_duration(item.end - item.start)}")
    if item.status == "moved" or (item.status == "cancelled" and item.start != occ.start):
        lines.append(f"Moved from: {local_window(occ.local_start, occ.local_end, occ.timezone)}")
    if event.reason:
        lines.append(f"Reason: {event.reason}")
    if item.kind == "planned":
        lines.append(f"Window: {occ.rule}" + (f" ({event.label})" if event.label else ""))
    lines.append(f"Occurrence: {item.id} (revision {item.sequence})")
    return "\n".join(lines)


# -- the direct writer --------------------------------------------------------------------------


def _event_lines(event: FeedEvent, uid_domain: str, organizer_address: str) -> list[str]:
    item = event.item
    stamp = ical_utc(event.modified)
    lines = [
        "BEGIN:VEVENT",
        "SUMMARY:" + escape_text(summary(event)),
        "DTSTART:" + ical_utc(item.start),
        "DTEND:" + ical_utc(item.end),
        "DTSTAMP:" + stamp,
        "UID:" + escape_text(f"{item.id}@{uid_domain}"),
        f"SEQUENCE:{item.sequence}",
        "CATEGORIES:" + ",".join(escape_text(c) for c in categories(event)),
        "DESCRIPTION:" + escape_text(description(event)),
        "LAST-MODIFIED:" + stamp,
        "ORGANIZER:" + organizer_address,  # icalendar's order: its canonical head, then alphabetical
        "STATUS:" + status(item),
        "TRANSP:TRANSPARENT",
    ]
    if event.url:
        lines.append("URL:" + event.url)
    lines.append("END:VEVENT")
    return lines


def check_method(info: CalendarInfo) -> None:
    if info.method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {info.method!r}")


def render_event(event: FeedEvent, *, settings: Settings) -> bytes:
    """One VEVENT block (folded, CRLF-terminated lines), exactly as it appears in a calendar."""
    lines = _event_lines(event, settings.uid_domain, organizer(settings))
    return "".join(fold(line) + "\r\n" for line in lines).encode()


class CalendarMemo:
    """The folded VEVENT blocks already written, for many calendars that share events (the notice
    attachments of one planning run: every customer of a product in a zone gets the same events).

    An event's block is reused for an event of the same occurrence object (``Scheduled`` is frozen:
    the planning run's views share one object per product-wide occurrence) with the same other
    fields, and the same settings. Holds at most ``size`` blocks: when full it starts again, so
    memory stays bounded whatever the run's size.
    """

    def __init__(self, size: int = 16384) -> None:
        self.size = size
        self._blocks: dict[tuple[object, ...], tuple[Scheduled, str]] = {}

    def block(self, event: FeedEvent, uid_domain: str, organizer_address: str) -> str:
        e = event
        key = (
            id(e.item),
            e.product_name,
            e.modified,
            e.label,
            e.url,
            e.viewer_zone,
            e.reason,
            uid_domain,
            organizer_address,
        )
        found = self._blocks.get(key)
        if found is not None and found[0] is e.item:  # the object is kept: its id is not reused
            return found[1]
        if len(self._blocks) >= self.size:
            self._blocks.clear()
        lines = _event_lines(event, uid_domain, organizer_address)
        block = "".join(fold(line) + "\r\n" for line in lines)
        self._blocks[key] = (e.item, block)
        return block


def render_calendar(
    events: Sequence[FeedEvent], info: CalendarInfo, *, settings: Settings, memo: CalendarMemo | None = None
) -> bytes:
    """The whole VCALENDAR as bytes; identical to ``build_calendar(...).to_ical()``.

    ``info.method`` is PUBLISH for feeds and announcements, CANCEL for cancellation notices (the
    events then carry STATUS:CANCELLED when the occurrences are cancelled). ``memo``: reuse the
    events' blocks written for earlier calendars (same bytes).
    """
    check_method(info)
    head = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:" + escape_text(PRODID),
        "CALSCALE:GREGORIAN",
        "METHOD:" + info.method,
        "DESCRIPTION:" + escape_text(info.description),
        "X-WR-CALDESC:" + escape_text(info.description),
        "NAME:" + escape_text(info.name),
        "X-WR-CALNAME:" + escape_text(info.name),
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "UID:" + escape_text(info.uid),
        "X-PUBLISHED-TTL:PT1H",
    ]
    out = [fold(line) + "\r\n" for line in head]
    domain, address = settings.uid_domain, organizer(settings)
    for event in events:
        if memo is not None:
            out.append(memo.block(event, domain, address))
            continue
        for line in _event_lines(event, domain, address):
            out.append(fold(line) + "\r\n")
    out.append("END:VCALENDAR\r\n")
    return "".join(out).encode()
