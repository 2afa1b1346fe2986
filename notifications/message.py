"""Composing a notice email: multipart/alternative text + HTML, and the .ics attachment.

The bytes of a delivery are made once, when it is queued, and stored: a retry sends exactly the
same message with the same Message-ID. Nothing random goes in: MIME boundaries are derived from
the content and the Date header from the notice.

Header injection is impossible: names that end up in headers are folded onto one line, and an
address containing a line break (or anything but one plain address) is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, getaddresses
from functools import lru_cache
from typing import Any

from notifications import bodies, mime
from notifications.content import ANNOUNCE, Entry, Notice, format_local, format_utc_human
from notifications.ics import build_calendar
from windows.errors import InvalidInput
from windows.lifecycle import human_duration

ATTACHMENT_NAME = "maintenance.ics"

_HEADLINES = {
    "announce": "Planned maintenance",
    "update": "Maintenance moved",
    "cancel": "Maintenance cancelled",
    "unplanned": "Unplanned maintenance",
    "reschedule-approved": "Reschedule approved",
    "reschedule-rejected": "Reschedule declined",
    "reminder": "Maintenance reminder",
    "started": "Maintenance started",
    "finished": "Maintenance finished",
}


def one_line(text: str) -> str:
    """Fold any run of whitespace, CR and LF included, into one space.

    >>> one_line("Acme\\r\\nBcc: victim@example.org")
    'Acme Bcc: victim@example.org'
    """
    return " ".join(text.split())


def parse_mailbox(value: str, what: str = "address") -> Address:
    """One mailbox (``Name <a@b.c>`` or ``a@b.c``); refuses line breaks and lists.

    >>> parse_mailbox("maintcal <maintenance@example.com>").addr_spec
    'maintenance@example.com'
    """
    if any(c in value for c in "\r\n\x00"):
        raise InvalidInput(f"{what} {value!r} contains a line break")
    pairs = getaddresses([value])
    if len(pairs) != 1 or not pairs[0][1] or "@" not in pairs[0][1] or " " in pairs[0][1]:
        raise InvalidInput(f"{what} {value!r} is not one email address")
    name, addr = pairs[0]
    local, _, domain = addr.rpartition("@")
    return Address(display_name=one_line(name), username=local, domain=domain)


def message_id(domain: str, created_at: datetime, *parts: object) -> str:
    """A Message-ID made from a delivery's identity (unique rows in the outbox), never random.

    >>> from datetime import timezone as tz
    >>> message_id("maintcal.example.com", datetime(2027, 1, 4, 12, tzinfo=tz.utc), 7, 12)
    '<20270104120000.7.12.maintcal@maintcal.example.com>'
    """
    ident = ".".join(str(p) for p in parts)
    return f"<{created_at:%Y%m%d%H%M%S}.{ident}.maintcal@{domain}>"


@dataclass(frozen=True)
class Rendered:
    """What every recipient of one notice gets: subject, bodies, attachment."""

    subject: str
    text: str
    html: str
    ics: bytes
    method: str
    kind: str
    occurrences: tuple[str, ...] = ()  # the X-Maintcal-Occurrence header


def headline(kind: str) -> str:
    """``Maintenance reminder``: the first words of a notice of ``kind``, in every channel."""
    return _HEADLINES[kind]


def subject(notice: Notice) -> str:
    """``Planned maintenance: Premier Edition, Tue 2027-03-16 00:00 EDT`` or a count for several."""
    headline = _HEADLINES[notice.kind]
    if len(notice.entries) == 1:
        entry = notice.entries[0]
        when = format_local(entry.start, notice.zone).rsplit(" (", 1)[0]
        return one_line(f"{headline}: {entry.product_name}, {when}")
    return one_line(f"{headline}: {len(notice.entries)} windows for {notice.customer_name}")


def _entry_view(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.occurrence_id,
        "uid": entry.uid,
        "product": one_line(entry.product_name),
        "local_start": format_local(entry.start, entry.zone),
        "local_end": format_local(entry.end, entry.zone),
        "utc_start": format_utc_human(entry.start),
        "utc_end": format_utc_human(entry.end),
        "length": human_duration(entry.end - entry.start),
        "status": entry.status,
        "unplanned": entry.kind == "unplanned",
    }


def context(notice: Notice) -> dict[str, Any]:
    """What the bodies say, as ``bodies.text`` and ``bodies.html`` read it."""
    return {
        "kind": notice.kind,
        "announce": notice.kind == ANNOUNCE,
        "headline": _HEADLINES[notice.kind],
        "customer_name": one_line(notice.customer_name),
        "zone": notice.zone,
        "note": notice.note,
        "entries": [_entry_view(e) for e in notice.entries],
        "method": notice.method,
        "attachment": ATTACHMENT_NAME,
        "portal_url": notice.portal_url,
    }


def render(notice: Notice, *, sender: str, ics: bytes | None = None) -> Rendered:
    """Subject, text and HTML bodies and the .ics attachment (``ics`` if the caller rendered it)."""
    organizer = _organizer(sender)
    values = context(notice)
    return Rendered(
        subject=subject(notice),
        text=bodies.text(values),
        html=bodies.html(values),
        ics=ics if ics is not None else build_calendar(notice, organizer=organizer),
        method=notice.method,
        kind=notice.kind,
        occurrences=tuple(e.occurrence_id for e in notice.entries),
    )


def build_message(rendered: Rendered, *, sender: str, recipient: str, message_id: str, date: datetime) -> bytes:
    """The MIME bytes (CRLF line ends) of one delivery; identical for identical arguments.

    Everything but the To and Message-ID headers is the same for every recipient of a notice, so
    it is built once (cached) and only those two headers are made per recipient.
    """
    if any(c in message_id for c in "\r\n") or not (message_id.startswith("<") and message_id.endswith(">")):
        raise InvalidInput(f"invalid Message-ID {message_id!r}")
    head = _to_header(recipient) + SMTP.fold_binary("Message-ID", message_id)
    return head + _shared_part(rendered, sender, date)


@lru_cache(maxsize=4096)
def _to_header(recipient: str) -> bytes:
    """The To header (a contact gets several notices in one planning run: parsed once)."""
    to = str(parse_mailbox(recipient, "recipient"))
    policy = SMTP if to.isascii() else SMTPUTF8  # a non-ASCII address is only deliverable with SMTPUTF8
    return policy.fold_binary("To", to)


@lru_cache(maxsize=16)
def _organizer(sender: str) -> str:
    return parse_mailbox(sender, "sender").addr_spec


@lru_cache(maxsize=8)
def _shared_part(rendered: Rendered, sender: str, date: datetime) -> bytes:
    """The headers after To and Message-ID, and the body: multipart/mixed holding a
    multipart/alternative (text, HTML) and the .ics attachment.

    Written directly rather than through ``EmailMessage`` (whose header parsing was most of the
    time of a planning run), to the bytes ``EmailMessage(policy=SMTP).as_bytes()`` gives for the
    same content: the unit tests compare both on varied content (see ``mime.py``).
    """
    digest = hashlib.sha256()
    for piece in (rendered.subject, rendered.text, rendered.html, rendered.method, rendered.kind):
        digest.update(piece.encode() + b"\0")
    digest.update(rendered.ics)
    seed = digest.hexdigest()[:24]
    mixed, alternative = f"=_maintcal_{seed}_0", f"=_maintcal_{seed}_1"
    head = [
        _sender_header(sender),
        mime.header("Subject", one_line(rendered.subject)),
        mime.header("Date", format_datetime(date)),
        b"Auto-Submitted: auto-generated\r\n",
        mime.header("X-Maintcal-Notice", rendered.kind),
    ]
    if rendered.occurrences:
        head.append(mime.header("X-Maintcal-Occurrence", ", ".join(rendered.occurrences)))
    return b"".join(
        [
            *head,
            b"MIME-Version: 1.0\r\n",
            mime.multipart_header("mixed", mixed),
            b"--" + mixed.encode() + b"\r\n",
            mime.multipart_header("alternative", alternative),
            b"--" + alternative.encode() + b"\r\n",
            mime.text_part("plain", rendered.text),
            b"\r\n--" + alternative.encode() + b"\r\n",
            mime.text_part("html", rendered.html),
            b"\r\n--" + alternative.encode() + b"--\r\n",
            b"\r\n--" + mixed.encode() + b"\r\n",
            mime.calendar_part(rendered.ics, rendered.method, ATTACHMENT_NAME),
            b"\r\n--" + mixed.encode() + b"--\r\n",
        ]
    )


@lru_cache(maxsize=16)
def _sender_header(sender: str) -> bytes:
    return mime.address_header("From", parse_mailbox(sender, "sender"))


def compose(notice: Notice, *, sender: str, recipient: str, message_id: str) -> bytes:
    """Render and build in one step (one recipient)."""
    return build_message(
        render(notice, sender=sender), sender=sender, recipient=recipient, message_id=message_id, date=notice.stamp
    )
