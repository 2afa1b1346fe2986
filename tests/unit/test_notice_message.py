"""Composing notices: exact headers, MIME structure, bodies in two zones, the .ics read back, safety."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import icalendar
import pytest

from notifications.content import Entry, Notice, format_local
from notifications.delivery import backoff, classify
from notifications.message import build_message, compose, message_id, parse_mailbox, render
from notifications.smtp import parse_smtp_url
from windows.errors import InvalidInput

SENDER = "maintcal <maintenance@example.com>"
CREATED = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
MID = message_id("maintcal.example.com", CREATED, 1, 7)


def entry(day: int = 16, sequence: int = 0, status: str = "scheduled", name: str = "Premier Edition") -> Entry:
    oid = f"pe.nightly.202703{day:02d}"
    return Entry(
        uid=f"{oid}@maintcal.example.com",
        occurrence_id=oid,
        product="pe",
        product_name=name,
        start=datetime(2027, 3, day, 4, 0, tzinfo=UTC),  # 00:00 EDT (after the 14 March change)
        end=datetime(2027, 3, day, 10, 0, tzinfo=UTC),
        zone="Europe/London",
        sequence=sequence,
        status=status,
        window_zone="America/New_York",
    )


def notice(kind: str = "announce", entries: tuple[Entry, ...] | None = None, name: str = "Acme Corp") -> Notice:
    return Notice(kind, "acme", name, "Europe/London", entries or (entry(16), entry(23)), CREATED, None)


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=default)


def body(msg: EmailMessage, content_type: str) -> str:
    part = next(p for p in msg.walk() if p.get_content_type() == content_type)
    return str(part.get_content()).replace("\r\n", "\n")


def calendar_part(msg: EmailMessage) -> EmailMessage:
    return next(p for p in msg.walk() if p.get_content_type() == "text/calendar")


def attachment(msg: EmailMessage) -> icalendar.Calendar:
    payload = calendar_part(msg).get_payload(decode=True)
    assert isinstance(payload, bytes)
    return icalendar.Calendar.from_ical(payload)


def test_headers_are_exact_and_the_bytes_deterministic() -> None:
    raw = compose(notice(), sender=SENDER, recipient="ops@acme.example", message_id=MID)
    assert raw == compose(notice(), sender=SENDER, recipient="ops@acme.example", message_id=MID)
    assert MID == "<20270104120000.1.7.maintcal@maintcal.example.com>"
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert head.split("\r\n")[:9] == [
        "To: ops@acme.example",
        f"Message-ID: {MID}",
        "From: maintcal <maintenance@example.com>",
        "Subject: Planned maintenance: 2 windows for Acme Corp",
        "Date: Mon, 04 Jan 2027 12:00:00 +0000",
        "Auto-Submitted: auto-generated",
        "X-Maintcal-Notice: announce",
        "X-Maintcal-Occurrence: pe.nightly.20270316, pe.nightly.20270323",
        "MIME-Version: 1.0",
    ]
    # Recipients of one notice share everything after their own To and Message-ID.
    other = compose(notice(), sender=SENDER, recipient="noc@acme.example", message_id="<other@x>")
    assert other.split(b"\r\n", 2)[2] == raw.split(b"\r\n", 2)[2]
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only


def test_structure_is_mixed_alternative_plus_calendar() -> None:
    msg = parse(compose(notice(), sender=SENDER, recipient="ops@acme.example", message_id=MID))
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    calendar = calendar_part(msg)
    assert calendar.get_param("method") == "PUBLISH"
    assert calendar.get_filename() == "maintenance.ics"
    assert calendar.get_content_disposition() == "attachment"


def test_bodies_list_each_window_in_the_contacts_zone_and_in_utc() -> None:
    msg = parse(compose(notice(), sender=SENDER, recipient="ops@acme.example", message_id=MID))
    text = body(msg, "text/plain")
    # 16 March: New York is on EDT already, London still on GMT; 04:00Z is 04:00 in London.
    assert (
        "* Premier Edition (pe.nightly.20270316)\n"
        "  Tue 2027-03-16 04:00 GMT (UTC+00:00) to Tue 2027-03-16 10:00 GMT (UTC+00:00)\n"
        "  Tue 2027-03-16 04:00 UTC to Tue 2027-03-16 10:00 UTC (6 h)\n"
        "* Premier Edition (pe.nightly.20270323)\n"
    ) in text
    assert "Local times are in Europe/London." in text
    html = body(msg, "text/html")
    assert "<td>Tue 2027-03-16 04:00 GMT (UTC+00:00)</td><td>Tue 2027-03-16 10:00 GMT (UTC+00:00)</td>" in html


def test_the_attachment_parses_back_with_the_feed_uids_and_sequences() -> None:
    msg = parse(compose(notice(entries=(entry(16, 2),)), sender=SENDER, recipient="o@acme.example", message_id=MID))
    calendar = attachment(msg)
    assert calendar["METHOD"] == "PUBLISH"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == "pe.nightly.20270316@maintcal.example.com"
    assert event["SEQUENCE"] == 2
    assert event.decoded("DTSTART") == datetime(2027, 3, 16, 4, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2027, 3, 16, 10, 0, tzinfo=UTC)
    assert event.decoded("DTSTAMP") == CREATED
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]) == "mailto:maintenance@example.com"
    assert str(event["DESCRIPTION"]) == (
        "Premier Edition maintenance (pe.nightly.20270316): Tue 2027-03-16 04:00 GMT (UTC+00:00) "
        "to Tue 2027-03-16 10:00 GMT (UTC+00:00); defined in America/New_York"
    )


def test_a_cancellation_carries_method_cancel() -> None:
    cancelled = notice("cancel", (entry(16, 1, "cancelled"),))
    msg = parse(compose(cancelled, sender=SENDER, recipient="o@acme.example", message_id=MID))
    assert msg["Subject"] == "Maintenance cancelled: Premier Edition, Tue 2027-03-16 04:00 GMT"
    assert calendar_part(msg).get_param("method") == "CANCEL"
    calendar = attachment(msg)
    assert calendar["METHOD"] == "CANCEL"
    [event] = calendar.walk("VEVENT")
    assert (str(event["STATUS"]), event["SEQUENCE"]) == ("CANCELLED", 1)


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("update", "Maintenance moved: Premier Edition, Tue 2027-03-16 04:00 GMT"),
        ("unplanned", "Unplanned maintenance: Premier Edition, Tue 2027-03-16 04:00 GMT"),
        ("reschedule-approved", "Reschedule approved: Premier Edition, Tue 2027-03-16 04:00 GMT"),
        ("reschedule-rejected", "Reschedule declined: Premier Edition, Tue 2027-03-16 04:00 GMT"),
    ],
)
def test_subjects_per_kind(kind: str, subject: str) -> None:
    assert render(notice(kind, (entry(16),)), sender=SENDER).subject == subject


def test_names_with_line_breaks_cannot_inject_headers() -> None:
    evil = notice(name="Acme\r\nBcc: victim@example.org", entries=(entry(16, name="PE\nX-Evil: 1"),))
    raw = compose(evil, sender=SENDER, recipient="ops@acme.example", message_id=MID)
    msg = parse(raw)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert msg["Subject"] == "Planned maintenance: PE X-Evil: 1, Tue 2027-03-16 04:00 GMT"
    assert b"\r\nBcc:" not in raw and b"\r\nX-Evil:" not in raw


@pytest.mark.parametrize(
    "address",
    ["ops@acme.example\r\nBcc: victim@example.org", "ops@acme.example\nX: y", "a@b.example, c@d.example", "nobody"],
)
def test_recipients_and_senders_must_be_one_plain_address(address: str) -> None:
    rendered = render(notice(), sender=SENDER)
    with pytest.raises(InvalidInput):
        build_message(rendered, sender=SENDER, recipient=address, message_id=MID, date=CREATED)
    with pytest.raises(InvalidInput):
        build_message(rendered, sender=address, recipient="ops@acme.example", message_id=MID, date=CREATED)


def test_display_names_are_folded_and_encoded() -> None:
    box = parse_mailbox("Équipe \t maintenance <ops@example.com>")
    assert (box.display_name, box.addr_spec) == ("Équipe maintenance", "ops@example.com")
    raw = build_message(
        render(notice(), sender=SENDER),
        sender="Équipe maintenance <ops@example.com>",
        recipient="o@acme.example",
        message_id=MID,
        date=CREATED,
    )
    assert b"From: =?utf-8?q?=C3=89quipe?= maintenance <ops@example.com>\r\n" in raw


def test_format_local_names_the_zone_abbreviation_and_offset() -> None:
    instant = datetime(2027, 3, 16, 4, 0, tzinfo=UTC)
    assert format_local(instant, "America/New_York") == "Tue 2027-03-16 00:00 EDT (UTC-04:00)"
    assert format_local(instant, "Asia/Kolkata") == "Tue 2027-03-16 09:30 IST (UTC+05:30)"


def test_smtp_replies_are_classified_by_their_first_digit() -> None:
    assert classify(250, "2.0.0 Ok:  queued").status == "sent"
    assert classify(250, "2.0.0 Ok:  queued").detail == "2.0.0 Ok: queued"
    assert classify(421, "busy").status == "retry"
    assert classify(451, "local error").status == "retry"
    assert classify(554, "rejected").status == "failed"


def test_backoff_doubles_up_to_the_cap_with_reproducible_jitter() -> None:
    delays = [backoff(n, base=60, cap=3600, key="<m@x>").total_seconds() for n in range(1, 10)]
    assert delays == [backoff(n, base=60, cap=3600, key="<m@x>").total_seconds() for n in range(1, 10)]
    bounds = [min(3600, 60 * 2 ** (n - 1)) for n in range(1, 10)]
    assert all(b / 2 <= d <= b for d, b in zip(delays, bounds, strict=True))
    assert max(delays) <= 3600
    assert backoff(1, base=60, cap=3600, key="<m@x>") != backoff(1, base=60, cap=3600, key="<n@x>")


def test_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://mail.example.com")
    assert (plain.host, plain.port, plain.use_tls, plain.start_tls, plain.username) == (
        "mail.example.com",
        25,
        False,
        None,
        None,
    )
    tls = parse_smtp_url("smtps://u:p@mail.example.com?timeout=5&verify=false")
    assert (tls.port, tls.use_tls, tls.start_tls, tls.timeout, tls.validate_certs) == (465, True, False, 5.0, False)
    assert tls.describe() == "smtps://u:***@mail.example.com:465"
    assert parse_smtp_url("smtp://h:2525?starttls=false").start_tls is False


@pytest.mark.parametrize(
    ("url", "port", "start_tls"),
    [
        ("smtp://alice:pw@mail.example.com", 25, True),  # credentials: STARTTLS required, not "if offered"
        ("smtp://alice:pw@mail.example.com:587?starttls=true", 587, True),
        ("smtp://alice@mail.example.com", 25, True),
        ("smtp://alice:pw@127.0.0.1?plaintext_auth=true", 25, None),  # loopback: TLS if offered
        ("smtp://alice:pw@localhost:2525?plaintext_auth=true&starttls=false", 2525, False),
        ("smtp://alice:pw@[::1]?plaintext_auth=yes", 25, None),
        ("smtp://alice:pw@127.0.0.2?plaintext_auth=true&starttls=true", 587, True),
        ("smtp://mail.example.com?plaintext_auth=true", 25, None),  # no credentials: nothing to protect
    ],
)
def test_credentials_require_tls_unless_plaintext_auth_on_loopback(url: str, port: int, start_tls: bool | None) -> None:
    config = parse_smtp_url(url)
    assert (config.port, config.use_tls, config.start_tls) == (port, False, start_tls)
    assert "pw" not in repr(config)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://secret:pw@host",
            "MAINTCAL_SMTP_URL must start with smtp:// or smtps:// (e.g. smtp://host:587?starttls=true)",
        ),
        ("smtp://u:hunter2@host?starttls=maybe", "MAINTCAL_SMTP_URL: starttls='maybe' must be true or false"),
        (
            "smtp://u:hunter2@host?tls=1",
            "MAINTCAL_SMTP_URL: unknown option 'tls' (use starttls, timeout, verify, plaintext_auth)",
        ),
        (
            "smtp://u:hunter2@host:25?starttls=false",
            "MAINTCAL_SMTP_URL: starttls=false with a user and password would send the password in clear: "
            "use starttls=true or smtps:// (or plaintext_auth=true for a relay on this host)",
        ),
        (
            "smtp://u:hunter2@mail.example.com?plaintext_auth=true",
            "MAINTCAL_SMTP_URL: plaintext_auth=true is allowed only for a relay on this host "
            "(127.0.0.1, ::1, localhost), not 'mail.example.com': use starttls=true or smtps://",
        ),
        (
            "smtp://u:hunter2@10.0.0.1?plaintext_auth=true&starttls=false",
            "MAINTCAL_SMTP_URL: plaintext_auth=true is allowed only for a relay on this host "
            "(127.0.0.1, ::1, localhost), not '10.0.0.1': use starttls=true or smtps://",
        ),
        (
            "smtp://u:hunter2@host?plaintext_auth=maybe",
            "MAINTCAL_SMTP_URL: plaintext_auth='maybe' must be true or false",
        ),
        ("smtp://u:hunter2@host:99999", "MAINTCAL_SMTP_URL has an invalid port"),
        ("smtps://host?starttls=true", "MAINTCAL_SMTP_URL: smtps:// is already TLS; drop starttls=true"),
        ("smtp://host?timeout=0", "MAINTCAL_SMTP_URL: timeout must be positive"),
        ("smtp://", "MAINTCAL_SMTP_URL names no host"),
    ],
)
def test_bad_smtp_urls_never_echo_the_password(url: str, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_smtp_url(url)
    assert error.value.message == message
    assert "hunter2" not in error.value.message


def test_local_times_in_notices_follow_the_zone_rule_after_2037() -> None:
    """pytz's tables end in 2037; the notice text must still say EDT in July 2040."""
    instant = datetime(2040, 7, 3, 4, tzinfo=UTC)
    assert format_local(instant, "America/New_York") == "Tue 2040-07-03 00:00 EDT (UTC-04:00)"
    assert format_local(datetime(2045, 1, 10, 2, tzinfo=UTC), "Australia/Sydney") == (
        "Tue 2045-01-10 13:00 AEDT (UTC+11:00)"
    )
