"""The hand-written MIME (notifications.mime) gives the very bytes EmailMessage(policy=SMTP) gave.

``reference`` below is the previous implementation of ``message._shared_part``, kept verbatim: every
case compares both byte for byte, over headers that fold, encode or look like encoded words, bodies
in each transfer encoding (7bit, 8bit, quoted-printable, base64), every notice kind and method.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime

import pytest

from notifications.content import KINDS, Entry, Notice, method_for
from notifications.message import (
    ATTACHMENT_NAME,
    Rendered,
    _shared_part,
    build_message,
    one_line,
    parse_mailbox,
    render,
)

SENDER = "maintcal <maintenance@example.com>"
DATE = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


def reference(rendered: Rendered, sender: str, date: datetime) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = parse_mailbox(sender, "sender")
    msg["Subject"] = one_line(rendered.subject)
    msg["Date"] = format_datetime(date)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Maintcal-Notice"] = rendered.kind
    if rendered.occurrences:
        msg["X-Maintcal-Occurrence"] = ", ".join(rendered.occurrences)
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    msg.add_attachment(
        rendered.ics,
        maintype="text",
        subtype="calendar",
        filename=ATTACHMENT_NAME,
        params={"method": rendered.method, "charset": "utf-8"},
    )
    digest = hashlib.sha256()
    for piece in (rendered.subject, rendered.text, rendered.html, rendered.method, rendered.kind):
        digest.update(piece.encode() + b"\0")
    digest.update(rendered.ics)
    seed = digest.hexdigest()[:24]
    for number, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_maintcal_{seed}_{number}")
    for top in msg.iter_parts():
        for sub in top.walk():
            del sub["MIME-Version"]
    return msg.as_bytes(policy=SMTP)


SUBJECTS = [
    "Planned maintenance: 2 windows for Acme Corp",
    "Maintenance reminder: Premier Edition, Tue 2027-03-16 00:00 EDT",
    "Planned maintenance: 12 windows for " + "Very Long Customer Name Incorporated " * 4,
    "Planned maintenance: 2 windows for Société Générale",
    "Planned maintenance: 2 windows for 株式会社メンテナンス",
    "Planned maintenance: 2 windows for =?utf-8?q?Acme?= Corp",
    'Planned maintenance: 2 windows for "Acme" (the Corp) <x@y> \\ ; , [a]',
    "Planned maintenance: " + "x" * 90,
    "Planned maintenance: " + "y" * 56,
    "Planned maintenance:   spaced\twords ",
    "a",
]
TEXTS = [
    "Hello,\n\nshort ASCII lines.\n",
    "Hello,\n\nshort lines, Société Générale.\n",
    "Hello,\n" + "a long line " * 12 + "\n",
    "Hello,\n" + "une longue ligne, Société " * 6 + "\n" + "more\n" * 15,
    "株式会社メンテナンス\n" * 12 + "株式会社メンテナンス株式会社メンテナンス株式会社メンテナンス\n",
    "Ａ" * 40 + "\n",
    "From the start\r\nCR LF\rCR only\n-- \nmaintcal\n",
    "no newline at the end",
    "",
    "tab\tand trailing spaces   \n" + "x" * 200 + "\n=3D equals = and dots\n.\n",
]
SENDERS = [SENDER, "maintenance@example.com", '"Ops, Team" <ops@example.com>', "Équipe maintcal <ops@example.com>"]
OCCURRENCES = [(), ("pe.nightly.20270316",), tuple(f"outbound.weekly.202701{d:02d}" for d in range(1, 30))]


def rendered(subject: str, text: str, kind: str, occurrences: tuple[str, ...], ics: bytes) -> Rendered:
    html = "<p>" + text.replace("\n", "</p>\n<p>") + "</p>\n"
    return Rendered(subject, text, html, ics, method_for(kind), kind, occurrences)


ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nSUMMARY:Soci\xc3\xa9t\xc3\xa9\r\nEND:VCALENDAR\r\n"


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("text", TEXTS)
def test_subjects_and_bodies_give_the_same_bytes(subject: str, text: str) -> None:
    r = rendered(subject, text, "announce", OCCURRENCES[1], ICS)
    assert _shared_part(r, SENDER, DATE) == reference(r, SENDER, DATE)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sender", SENDERS)
@pytest.mark.parametrize("occurrences", OCCURRENCES)
def test_kinds_senders_and_occurrence_headers_give_the_same_bytes(
    kind: str, sender: str, occurrences: tuple[str, ...]
) -> None:
    for ics in (b"", ICS, ICS * 40):
        r = rendered(SUBJECTS[0], TEXTS[0], kind, occurrences, ics)
        assert _shared_part(r, sender, DATE) == reference(r, sender, DATE)


def test_random_content_gives_the_same_bytes() -> None:
    rng = random.Random(11)
    alphabet = "abcXYZ019 .,:;()<>\"'\\=?_-/@[]éü株\t\n"
    for _ in range(300):
        subject = "".join(rng.choice(alphabet[:-2] + "    ") for _ in range(rng.randint(1, 160)))
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 600)))
        occurrences = tuple(f"p{rng.randint(0, 99)}.w.{rng.randint(10**7, 10**8)}" for _ in range(rng.randint(0, 12)))
        kind = rng.choice(KINDS)
        ics = bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 400)))
        r = rendered(one_line(subject) or "x", text, kind, occurrences, ics)
        date = DATE + timedelta(seconds=rng.randint(0, 10**8))
        assert _shared_part(r, SENDER, date) == reference(r, SENDER, date), (subject, text)


def entry(day: int, name: str, zone: str) -> Entry:
    oid = f"pe.nightly.202703{day:02d}"
    start = datetime(2027, 3, day, 4, 0, tzinfo=UTC)
    return Entry(f"{oid}@maintcal.example.com", oid, "pe", name, start, start + timedelta(hours=6), zone, 0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["Acme Corp", "Société Générale de Maintenance Informatique et Réseaux", "株式会社"])
def test_rendered_notices_compose_to_the_same_bytes_and_parse_alike(kind: str, name: str) -> None:
    entries = tuple(entry(d, f"{name} product", "Asia/Kolkata") for d in range(1, 2 if kind == "reminder" else 9))
    notice = Notice(
        kind, "acme", name, "Asia/Kolkata", entries, DATE, "Note: bring\ncoffee", "https://m.example/portal/"
    )
    r = render(notice, sender=SENDER, ics=ICS)
    new = build_message(r, sender=SENDER, recipient="Ops <ops@acme.example>", message_id="<1.2@m.example>", date=DATE)
    assert new.endswith(reference(r, SENDER, DATE))
    parsed = message_from_bytes(new, policy=default)
    assert parsed["Subject"] == r.subject
    assert parsed["From"] == SENDER
    parts = [p for p in parsed.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html", "text/calendar"]
    assert [str(p.get_content()).replace("\r\n", "\n") for p in parts] == [
        r.text,
        r.html,
        ICS.decode().replace("\r\n", "\n"),
    ]


def test_a_line_break_in_a_header_value_is_refused_as_before() -> None:
    r = rendered(SUBJECTS[0], TEXTS[0], "announce", ("a.1\r\nBcc: victim@example.org",), ICS)
    with pytest.raises(ValueError):
        reference(r, SENDER, DATE)
    with pytest.raises(ValueError):
        _shared_part(r, SENDER, DATE)
